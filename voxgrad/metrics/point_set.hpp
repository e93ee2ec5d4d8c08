#pragma once
// Point sets sampled from voxel surfaces, and nearest-neighbour queries on
// them (a k-d tree: Debian's nanoflann, kept out of this header).

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::metrics {

using Point = std::array<float, 3>;
using PointSet = std::vector<Point>;

/// `n` points uniformly distributed over the boundary of a volume's
/// occupied voxels (value > threshold): the faces between an occupied voxel
/// and an empty one or the outside of the grid, each face equally likely,
/// the point uniform on it. `volume` is d * h * w floats, z-major
/// ((z * h + y) * w + x). Coordinates are in units of the grid's longest
/// side, centred: the grid spans [-1/2, 1/2] along its longest axis. A
/// pure function of (volume, n, threshold, seed); an empty volume gives
/// no points.
PointSet surface_points(
    const float* volume,
    int64_t d,
    int64_t h,
    int64_t w,
    int64_t n,
    double threshold,
    uint64_t seed);

/// surface_points of each item of an (N, 1, D, H, W) or (N, D, H, W)
/// float32 batch; item i uses seed + i.
std::vector<PointSet> surface_points(
    const Tensor& batch, int64_t n, double threshold, uint64_t seed);

/// Squared distances to the nearest point of a fixed set.
/// ```cpp
/// NearestNeighbors nn(b);  double d2 = nn.squared_distance(p);
/// ```
class NearestNeighbors {
 public:
  /// Builds a k-d tree over `points` (copied); an empty set is allowed (every
  /// distance is then +inf).
  explicit NearestNeighbors(PointSet points);
  ~NearestNeighbors();
  NearestNeighbors(NearestNeighbors&&) noexcept;
  NearestNeighbors& operator=(NearestNeighbors&&) noexcept;

  double squared_distance(const Point& p) const;
  const PointSet& points() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgrad::metrics

VOXGRAD_PUBLIC_END
