#pragma once
// An occupancy grid: what every reader (mesh voxeliser, .binvox, .npy/.npz)
// produces and what the data set hands to training as a tensor.
//
// Layout (voxgrad's convention for voxel data, as the examples use it):
// depth = z (up), height = y, width = x; byte (z * height + y) * width + x;
// the grid spans the cube [-1, 1]^3, voxel i's centre at -1 + (i + 0.5) * 2 /
// extent. As a tensor it is (1, depth, height, width), channels first.

#include <cstdint>
#include <string>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

/// The largest extent per axis and the most voxels one grid may hold
/// (1024^3 bytes), so a hostile header cannot ask for an absurd buffer.
inline constexpr int64_t kMaxGridExtent = 4096;
inline constexpr int64_t kMaxGridVoxels = int64_t{1} << 30;

/// d * h * w through checked arithmetic (voxgrad/core/checked.hpp), after
/// checking each extent is in [1, kMaxGridExtent] and the product at most
/// kMaxGridVoxels; errors start with `what` (a file name, an op).
int64_t checked_voxel_count(
    int64_t d, int64_t h, int64_t w, const std::string& what);

/// A depth x height x width occupancy grid, z-major, one byte per voxel:
/// ```cpp
/// VoxelGrid g(32, 32, 32);  g.set(z, y, x, true);  Tensor t = g.tensor();
/// ```
struct VoxelGrid {
  int64_t depth = 0, height = 0, width = 0;
  std::vector<uint8_t> occupancy;  // 0 or 1 per voxel

  VoxelGrid() = default;
  /// An empty grid; extents in [1, kMaxGridExtent], at most kMaxGridVoxels.
  VoxelGrid(int64_t depth, int64_t height, int64_t width);

  int64_t numel() const {
    return depth * height * width;
  }
  bool is_cube() const {
    return depth == height && height == width;
  }
  int64_t index(int64_t z, int64_t y, int64_t x) const {
    return (z * height + y) * width + x;
  }
  bool at(int64_t z, int64_t y, int64_t x) const {
    return occupancy[static_cast<size_t>(index(z, y, x))] != 0;
  }
  void set(int64_t z, int64_t y, int64_t x, bool v) {
    occupancy[static_cast<size_t>(index(z, y, x))] = v ? 1 : 0;
  }
  /// Occupied voxels.
  int64_t count() const;
  /// float32 (1, depth, height, width) of 0 and 1.
  Tensor tensor() const;
  bool operator==(const VoxelGrid&) const = default;
};

/// Occupancy `value > threshold` of a float32/float64 tensor of shape
/// (D, H, W) or (1, D, H, W). NaN is an error naming its index.
VoxelGrid grid_from_tensor(const Tensor& t, double threshold = 0.5);

/// Each output voxel is occupied when any voxel of its factor^3 block is
/// (how a 128^3 ShapeNet grid becomes 32^3 without losing thin parts).
/// Every extent must be divisible by `factor`.
VoxelGrid downsample_any(const VoxelGrid& g, int64_t factor);

/// `g` at `resolution`^3: unchanged when it already is, else downsampled by
/// an integer factor; any other case is an error naming both sizes.
VoxelGrid to_resolution(const VoxelGrid& g, int64_t resolution);

/// Which world axis is "up" in a source. voxgrad's grids are z-up
/// (ModelNet's convention); ShapeNet and most OBJ exports are y-up.
enum class UpAxis { Y, Z };
/// "y" / "z" -> UpAxis; anything else is an error naming the valid values.
UpAxis parse_up_axis(const std::string& text);

/// A y-up grid turned z-up: a +90 degree rotation about x, (x, y, z) ->
/// (x, -z, y), so y-up "up" becomes z-up "up" and handedness is kept.
VoxelGrid y_up_to_z_up(const VoxelGrid& g);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
