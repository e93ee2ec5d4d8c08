#include "voxgrad/data/mesh.hpp"

#include <algorithm>
#include <cmath>

#include "voxgrad/core/error.hpp"

namespace voxgrad::data {

void check_mesh(const TriangleMesh& m, const std::string& where) {
  VOXGRAD_CHECK(
      !m.triangles.empty(), where,
      ": the mesh has no triangles (nothing to voxelise; point clouds and "
      "line sets are not meshes)");
  const auto nv = static_cast<int64_t>(m.vertices.size());
  for (size_t i = 0; i < m.vertices.size(); ++i) {
    const Vec3& v = m.vertices[i];
    VOXGRAD_CHECK(
        std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]),
        where, ": vertex ", i, " is not finite (", v[0], ", ", v[1], ", ", v[2],
        ")");
  }
  for (size_t t = 0; t < m.triangles.size(); ++t)
    for (int64_t k : m.triangles[t])
      VOXGRAD_CHECK(
          k >= 0 && k < nv, where, ": triangle ", t, " refers to vertex ", k,
          ", outside [0, ", nv, ")");
}

TriangleMesh normalized(const TriangleMesh& mesh, double margin) {
  VOXGRAD_CHECK(
      margin >= 0 && margin < 1, "normalized: margin must be in [0, 1) (got ",
      margin, ")");
  check_mesh(mesh, "normalized");
  // Only the vertices triangles use: stray vertices do not shift the box.
  Vec3 lo{HUGE_VAL, HUGE_VAL, HUGE_VAL}, hi{-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
  for (const auto& t : mesh.triangles)
    for (int64_t k : t)
      for (int a = 0; a < 3; ++a) {
        lo[a] = std::min(lo[a], mesh.vertices[static_cast<size_t>(k)][a]);
        hi[a] = std::max(hi[a], mesh.vertices[static_cast<size_t>(k)][a]);
      }
  double extent = 0;
  Vec3 centre{};
  for (int a = 0; a < 3; ++a) {
    // Halves first: hi - lo overflows to inf for coordinates near 1e308.
    centre[a] = lo[a] / 2 + hi[a] / 2;
    extent = std::max(extent, hi[a] / 2 - lo[a] / 2);
  }
  VOXGRAD_CHECK(
      extent > 0 && std::isfinite(extent),
      "normalized: the mesh's bounding box has no extent (every vertex at (",
      lo[0], ", ", lo[1], ", ", lo[2], "))");
  const double scale = (1 - margin) / extent;
  TriangleMesh out = mesh;
  for (Vec3& v : out.vertices)
    for (int a = 0; a < 3; ++a)
      v[a] = (v[a] - centre[a]) * scale;
  return out;
}

TriangleMesh y_up_to_z_up(const TriangleMesh& mesh) {
  TriangleMesh out = mesh;
  for (Vec3& v : out.vertices)
    v = {v[0], -v[2], v[1]};
  return out;
}

}  // namespace voxgrad::data
