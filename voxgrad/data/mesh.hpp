#pragma once
// Triangle meshes as the voxeliser takes them: vertex positions and
// triangles of vertex indices, in double precision (mesh files hold floats
// up to 1e38; the voxeliser's edge tests need the headroom).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "voxgrad/data/grid.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

using Vec3 = std::array<double, 3>;

/// Vertices and the triangles indexing them:
/// ```cpp
/// TriangleMesh m{{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}}, {{0, 1, 2}}};
/// ```
struct TriangleMesh {
  std::vector<Vec3> vertices;
  std::vector<std::array<int64_t, 3>> triangles;
};

/// Throws voxgrad::Error, prefixed with `where` (e.g. the file name), when
/// the mesh has no triangle, a vertex that is not finite (naming it and its
/// coordinates) or an index outside [0, vertices).
void check_mesh(const TriangleMesh& mesh, const std::string& where);

/// The mesh centred on its bounding box's centre and scaled uniformly so
/// that its longest side spans [-(1 - margin), 1 - margin]: the cube the
/// grids span, with `margin` (in [0, 1)) of it left empty on each side. A
/// mesh whose extent is zero on every axis (a point) is an error.
TriangleMesh normalized(const TriangleMesh& mesh, double margin);

/// A y-up mesh turned z-up: (x, y, z) -> (x, -z, y) (see y_up_to_z_up).
TriangleMesh y_up_to_z_up(const TriangleMesh& mesh);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
