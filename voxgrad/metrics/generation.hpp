#pragma once
// The metrics 3D generative papers report between a set of generated shapes
// S_g and a held-out reference set S_r (Achlioptas et al. 2018; Yang et al.
// 2019), with the Chamfer distance CD = chamfer_l2 (chamfer.hpp):
//
// ```text
// MMD-CD  = mean over Y in S_r of min over X in S_g of CD(X, Y)
//           (fidelity: each reference has a close sample; lower is better)
// COV-CD  = |{ argmin_{Y in S_r} CD(X, Y) : X in S_g }| / |S_r|
//           (coverage: share of references that are some sample's
//           nearest; higher is better)
// 1-NNA   = accuracy of the leave-one-out 1-nearest-neighbour classifier
//           on S_g u S_r telling samples from references (0.5 is ideal:
//           the sets are indistinguishable; 1.0 means fully separable)
// ```
//
// Ties go to the lowest index (samples first, then references, in order).

#include <vector>

#include "voxgrad/export.hpp"
#include "voxgrad/metrics/point_set.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::metrics {

/// MMD-CD, COV-CD and 1-NNA between a set of samples and a set of
/// references (the generative papers' Chamfer-based metrics).
struct GenerationMetrics {
  double mmd_cd = 0, cov_cd = 0, nna_cd = 0;
};

/// cd[i][j] = chamfer_l2(a[i], b[j]), computed in parallel.
std::vector<std::vector<double>> pairwise_chamfer_l2(
    const std::vector<NearestNeighbors>& a,
    const std::vector<NearestNeighbors>& b);

/// The three metrics from the distance matrices between and within the
/// sets (gr: samples x references, gg: samples x samples, rr: references
/// x references). Both sets must be non-empty, and 1-NNA needs at least
/// two items in all.
GenerationMetrics generation_metrics(
    const std::vector<std::vector<double>>& gr,
    const std::vector<std::vector<double>>& gg,
    const std::vector<std::vector<double>>& rr);

/// All of it from the point sets of samples and references.
/// ```cpp
/// auto m = generation_metrics(
///     surface_points(samples, 2048, 0.5, 1),
///     surface_points(refs, 2048, 0.5, 2));
/// ```
GenerationMetrics generation_metrics(
    const std::vector<PointSet>& samples, const std::vector<PointSet>& refs);

}  // namespace voxgrad::metrics

VOXGRAD_PUBLIC_END
