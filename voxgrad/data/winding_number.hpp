#pragma once
// The generalised winding number of a triangle mesh (Jacobson et al. 2013,
// "Robust Inside-Outside Segmentation using Generalized Winding Numbers"):
// w(p) = sum over triangles of their signed solid angle at p, over 4 pi. It
// is 1 inside and 0 outside a closed, outward-oriented surface and degrades
// gracefully where the surface has holes (w ~ 1/2 across a hole's disk), so
// |w| >= 1/2 is an inside test robust to small holes.
//
// Evaluated fast after Barill et al. 2018 ("Fast Winding Numbers for Soups
// and Clouds"): a bounding volume hierarchy over the triangles; a cluster far
// from p (distance > 2 x its radius) contributes its dipole term
// (sum of area vectors) . (c - p) / |c - p|^3 / (4 pi), a near one its exact
// solid angles (Van Oosterom & Strackee 1983).

#include <cstdint>
#include <vector>

#include "voxgrad/data/mesh.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

/// The generalised winding number of a mesh at any point, fast:
/// ```cpp
/// WindingNumber w(mesh);  bool inside = std::abs(w(p)) >= 0.5;
/// ```
class WindingNumber {
 public:
  /// Keeps a copy of the triangles; check_mesh(mesh) must pass.
  explicit WindingNumber(const TriangleMesh& mesh);
  /// The hierarchical approximation (exact for points near the surface).
  double operator()(const Vec3& p) const;
  /// The exact sum over every triangle, O(triangles): the reference.
  double exact(const Vec3& p) const;

 private:
  struct Node {
    Vec3 centroid{}, area_vector{};
    double radius = 0;
    int64_t left = -1, right = -1;  // children, or -1 for a leaf
    int64_t first = 0, count = 0;   // the leaf's triangles in order_
  };
  int64_t build(int64_t first, int64_t count);
  double solid_angle(int64_t t, const Vec3& p) const;

  std::vector<std::array<Vec3, 3>> tris_;
  std::vector<int64_t> order_;
  std::vector<Node> nodes_;
};

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
