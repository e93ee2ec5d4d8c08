#pragma once
// A data set of occupancy grids from a folder of meshes or grids, classes
// from its sub-folders, the way ModelNet and ShapeNet are laid out:
//
// ```text
// root/<class>/train/<name>.off      ModelNet10 / ModelNet40
// root/<class>/test/<name>.off
// root/<class>/<id>/model.binvox     ShapeNet's voxel release (no split)
// root/<class>/<name>.{obj,off,stl,ply,binvox,npy,npz}
// ```
//
// The class is the first folder under root (labels in sorted order); an
// item is in the test split when a folder between class and file is named
// "test", in the training split when one is named "train". When no item
// has either, the source dictates no split and items go to test by a hash
// of their path (test_fraction of them, the same on every machine).
// Folders whose names start with '.' are skipped.
//
// Grids are made once and cached: <cache>/<hash>.npy, where the hash covers
// the source file's bytes and every setting that changes the grid, and a
// manifest (manifest-<settings hash>.json) maps each source to its grid with
// the source's size and modification time, so later runs neither re-read
// nor re-voxelise unchanged sources. Cache files are written atomically and
// named by content, so concurrent runs (MPI ranks) can share a cache.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/data/array_grid.hpp"
#include "voxgrad/data/grid.hpp"
#include "voxgrad/data/voxelize.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

enum class Split { Train, Test };
const char* to_string(Split split);

/// How VoxelFolder turns each source into a grid, and where it caches them.
struct VoxelFolderOptions {
  int64_t resolution = 32;
  VoxelizeMode mode = VoxelizeMode::Solid;
  SolidMethod solid = SolidMethod::FloodFill;
  /// Empty space left on each side when a mesh is normalised to the cube.
  double margin = 0.05;
  /// The sources' up axis; y-up sources are turned z-up.
  UpAxis up = UpAxis::Z;
  /// How .npy / .npz grids are read.
  ArrayGridOptions arrays{};
  /// Where grids are cached; empty: <root>/.voxgrad_cache.
  std::string cache_dir{};
  /// Share of items held out for testing when the folder has no split.
  double test_fraction = 0.2;
};

/// One item of a VoxelFolder: its source file and class label.
struct VoxelItem {
  std::string path;  // relative to root
  int64_t label = 0;
};

/// A folder of meshes or grids as a data set of occupancy grids:
/// ```cpp
/// VoxelFolder data("ModelNet10", {.resolution = 32});
/// data.prepare(&std::cout);   // voxelise what the cache lacks
/// Tensor x = data.batch(Split::Train, {0, 1, 2});  // (3, 1, 32, 32, 32)
/// ```
class VoxelFolder {
 public:
  /// Finds the items (nothing is read yet). Throws voxgrad::Error naming
  /// the folder when it is missing, holds no grid or mesh file, or an
  /// option is out of range.
  VoxelFolder(std::string root, VoxelFolderOptions options);

  const std::string& root() const {
    return root_;
  }
  const VoxelFolderOptions& options() const {
    return options_;
  }
  const std::vector<std::string>& classes() const {
    return classes_;
  }
  int64_t size(Split split) const;
  const VoxelItem& item(Split split, int64_t index) const;
  /// The folder named its split (train/ test/ folders), rather than hashing.
  bool has_own_split() const {
    return own_split_;
  }

  /// Makes every grid: from the cache when it holds it, else from the
  /// source (in parallel), then writes it to the cache and the manifest.
  /// Returns how many grids were made from sources. A source that cannot
  /// be read is an error naming it.
  int64_t prepare(std::ostream* log = nullptr);

  /// The grid of an item (prepare() first).
  const VoxelGrid& grid(Split split, int64_t index) const;
  /// Items as float32 occupancy (N, 1, R, R, R), in the given order.
  Tensor batch(Split split, const std::vector<int64_t>& indices) const;
  /// Items [begin, end) of a split.
  Tensor range(Split split, int64_t begin, int64_t end) const;

 private:
  std::string settings_key() const;

  std::string root_;
  VoxelFolderOptions options_;
  std::vector<std::string> classes_;
  std::vector<VoxelItem> items_[2];
  std::vector<VoxelGrid> grids_[2];
  bool own_split_ = false;
};

/// The grid of one source file (mesh, .binvox, .npy or .npz) under the
/// folder's settings: what prepare() does for each item.
VoxelGrid grid_from_file(
    const std::string& path, const VoxelFolderOptions& options);

/// Whether voxgrad reads `path` as a grid or mesh source (by extension).
bool is_voxel_source(const std::string& path);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
