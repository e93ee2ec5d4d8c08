#pragma once
// Triangle mesh -> occupancy grid, at any resolution, deterministic (the
// result does not depend on the thread count) and parallel (oneTBB).
//
// The grid spans [-1, 1]^3 (normalized() puts a mesh there); triangles or
// parts outside are clipped.
//
// Surface mode marks every voxel whose cube the surface touches (the
// separating-axis triangle-box test of Akenine-Moller 2001).
//
// Solid mode adds the interior to the surface voxels, by one of:
// - FloodFill (default): the voxels that the grid's border cannot reach
//   without crossing a surface voxel. Needs no orientation, so it is right
//   for the inconsistently oriented, self-intersecting, non-manifold meshes
//   that ModelNet and ShapeNet are full of; holes smaller than a voxel are
//   sealed by the surface voxels, larger ones let the outside in.
// - WindingNumber: |generalised winding number| >= 1/2 at the voxel centre
//   (winding_number.hpp). Fills through holes larger than a voxel, but needs
//   consistently oriented triangles.
// The surface voxels are always kept, so parts thinner than a voxel (chair
// legs, table tops modelled as one sheet) are not lost.

#include <cstdint>
#include <string>

#include "voxgrad/data/grid.hpp"
#include "voxgrad/data/mesh.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

enum class VoxelizeMode { Solid, Surface };
enum class SolidMethod { FloodFill, WindingNumber };

/// VoxelizeOptions{.resolution = 64, .mode = VoxelizeMode::Surface}
struct VoxelizeOptions {
  int64_t resolution = 32;  // voxels per side, in [1, kMaxGridExtent]
  VoxelizeMode mode = VoxelizeMode::Solid;
  SolidMethod solid = SolidMethod::FloodFill;
};

/// The most triangle-voxel tests one call may take (a mesh of a million
/// triangles each spanning the grid would otherwise run for hours); beyond
/// it voxelize() throws, naming the count.
inline constexpr int64_t kMaxVoxelizeWork = int64_t{1} << 33;

/// Throws voxgrad::Error for a bad resolution, a mesh that check_mesh
/// rejects, coordinates beyond +-1e6 (normalise first) or work beyond
/// kMaxVoxelizeWork. Degenerate (zero-area) triangles mark the voxels they
/// pass through and bound no volume.
/// ```cpp
/// VoxelGrid g = voxelize(normalized(load_mesh("a.off"), 0.05), {});
/// ```
VoxelGrid voxelize(const TriangleMesh& mesh, const VoxelizeOptions& options);

/// "solid" / "surface"; anything else names the valid values.
VoxelizeMode parse_voxelize_mode(const std::string& text);
const char* to_string(VoxelizeMode mode);
/// "flood" / "winding".
SolidMethod parse_solid_method(const std::string& text);
const char* to_string(SolidMethod method);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
