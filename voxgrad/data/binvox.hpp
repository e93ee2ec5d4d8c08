#pragma once
// .binvox files (Patrick Min's binvox; ShapeNet's voxel release): a text
// header, then run-length-encoded occupancy as (value, count) byte pairs.
//
// ```text
// #binvox 1
// dim D H W
// translate tx ty tz
// scale s
// data
// <bytes>
// ```
//
// Voxel (x, y, z) of binvox's own coordinates is run index
// x * (W * H) + z * W + y (y fastest). read_binvox returns it in voxgrad's
// layout with the same world axes (voxgrad x = binvox x, ...); binvox files
// of ShapeNet are y-up, so pass them through y_up_to_z_up.

#include <array>
#include <string>

#include "voxgrad/data/grid.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

/// A .binvox file: the grid and its placement in the source's model space.
struct Binvox {
  VoxelGrid grid;
  /// Where the grid sits in the source's model space: voxel-grid corner and
  /// the length of the grid's longest side.
  std::array<double, 3> translate{-1, -1, -1};
  double scale = 2;
};

/// Reads a .binvox file; throws voxgrad::Error naming the path and the
/// fault (bad magic or version, bad dims (at most kMaxGridVoxels), runs
/// that overrun or fall short of the grid, a value other than 0 or 1).
Binvox read_binvox(const std::string& path);
/// The same from bytes in memory; `where` names the source in errors.
Binvox parse_binvox(const std::string& bytes, const std::string& where);

/// Writes `b` as .binvox, atomically (a temporary file renamed into place).
void write_binvox(const std::string& path, const Binvox& b);
/// The bytes write_binvox writes.
std::string format_binvox(const Binvox& b);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
