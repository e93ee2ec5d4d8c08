#pragma once
// Distances between surfaces given as point sets (point_set.hpp), in the
// conventions of the papers whose tables they fill:
//
// ```text
// chamfer_l2 = mean_a min_b |a - b|^2 + mean_b min_a |a - b|^2
//              (Achlioptas et al. 2018; Yang et al. 2019 "PointFlow")
// chamfer_l1 = (mean_a min_b |a - b| + mean_b min_a |a - b|) / 2
//              (Mescheder et al. 2019 "Occupancy Networks")
// F-score at tau (Tatarchenko et al. 2019): precision = share of
//              predicted points within tau of the target, recall = share
//              of target points within tau of the prediction,
//              F = 2 P R / (P + R) (0 when both are 0).
// ```
//
// A set against an empty set is +inf apart (F 0); two empty sets are 0
// apart (F 1): an empty sample matches nothing but an empty target.

#include <vector>

#include "voxgrad/export.hpp"
#include "voxgrad/metrics/point_set.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::metrics {

/// Chamfer-L1/L2 and precision, recall and F-score at a distance between
/// two surfaces (chamfer.hpp's functions compute them).
struct SurfaceMetrics {
  double chamfer_l1 = 0, chamfer_l2 = 0;
  double precision = 0, recall = 0, fscore = 0;
};

/// All of the above for predicted points `pred` against `target`, with
/// F-score threshold `tau` (> 0, in the points' units).
SurfaceMetrics surface_metrics(
    const NearestNeighbors& pred, const NearestNeighbors& target, double tau);
SurfaceMetrics surface_metrics(
    const PointSet& pred, const PointSet& target, double tau);

/// chamfer_l2 alone, the distance the generation metrics are built on.
double chamfer_l2(const NearestNeighbors& a, const NearestNeighbors& b);

}  // namespace voxgrad::metrics

VOXGRAD_PUBLIC_END
