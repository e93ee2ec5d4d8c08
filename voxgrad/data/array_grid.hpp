#pragma once
// Occupancy grids stored as NumPy arrays: .npy files and .npz archives
// (np.save / np.savez / np.savez_compressed), the voxel files users have
// when they do not have .binvox.
//
// Any little-endian bool, integer or float dtype is read; a voxel is
// occupied when its value is > threshold (NaN is an error). The array is
// (D, H, W) or (1, D, H, W), C or Fortran order. Axis order: "zyx" means
// array[z][y][x] (voxgrad's own tensors and cache files); "xyz" means
// array[x][y][z] (binvox-rw-py's output and most NumPy voxel code).

#include <string>
#include <vector>

#include "voxgrad/data/grid.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

enum class ArrayAxes { ZYX, XYZ };
/// "zyx" / "xyz"; anything else names the valid values.
ArrayAxes parse_array_axes(const std::string& text);

/// How a .npy / .npz array becomes an occupancy grid.
struct ArrayGridOptions {
  double threshold = 0.5;
  ArrayAxes axes = ArrayAxes::ZYX;
  /// The array of a .npz to read; empty: the archive's only array.
  std::string npz_key{};
};

/// Reads a .npy file as a grid; throws voxgrad::Error naming the path and
/// the fault (magic, header, dtype, shape, size).
VoxelGrid read_npy_grid(
    const std::string& path, const ArrayGridOptions& options = {});
/// The same from the bytes of a .npy; `where` names the source in errors.
VoxelGrid parse_npy_grid(
    const std::string& bytes,
    const std::string& where,
    const ArrayGridOptions& options = {});

/// Reads array `options.npz_key` (or the only array) of a .npz archive.
VoxelGrid read_npz_grid(
    const std::string& path, const ArrayGridOptions& options = {});
/// The array names of a .npz ("voxels" for "voxels.npy").
std::vector<std::string> npz_keys(const std::string& path);

/// The .npy bytes of a grid: uint8 ('|u1'), shape (D, H, W), axes zyx.
std::string format_npy_grid(const VoxelGrid& grid);
/// Writes format_npy_grid atomically.
void write_npy_grid(const std::string& path, const VoxelGrid& grid);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
