#pragma once
// Surface meshes of voxel volumes, for viewing samples in any 3-D viewer
// (Blender, MeshLab, an online OBJ viewer).
//
// Naive surface nets (Gibson 1998; the form popularised by Mikola
// Lysenko's write-up): one vertex per grid cell that the iso-surface
// crosses, at the mean of the crossings on the cell's edges, and one quad
// per grid edge that the surface crosses, joining the four cells around it.
// Smoother than voxel cubes, far shorter than marching cubes' tables.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace voxgrad::examples {

struct Mesh {
  /// Positions in the unit cube [-1, 1]^3 the voxel grid spans.
  std::vector<std::array<float, 3>> vertices;
  /// Quads of vertex indices, counter-clockwise seen from outside.
  std::vector<std::array<uint32_t, 4>> quads;
};

/// The surface value == threshold of a res^3 z-major volume (see render.hpp),
/// closed: the volume is taken as 0 outside the grid.
Mesh surface_nets(const float* volume, int64_t res, double threshold = 0.5);

/// Wavefront OBJ text ("v x y z", "f a b c d"), with a comment line first.
std::string to_obj(const Mesh& mesh, const std::string& comment);

}  // namespace voxgrad::examples
