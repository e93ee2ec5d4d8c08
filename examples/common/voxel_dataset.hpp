#pragma once
// The examples' training data as tensors, from one of two sources:
// - the procedural shapes of shapes.hpp (the default): a train split and a
//   held-out split of fixed sizes, generated on demand (a 32^3 shape takes
//   well under a millisecond), so nothing is stored and any index can be
//   read in any order by any process;
// - a folder of meshes or voxel grids (`--data path/to/ModelNet10`), read
//   through voxgrad::data::VoxelFolder: classes from sub-folders, its own
//   train/test split, grids cached beside a manifest.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "shapes.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/data/voxel_folder.hpp"

namespace voxgrad::examples {

/// Where the data comes from, as the examples' flags give it.
struct DataSource {
  std::string folder;          // empty: the procedural shapes
  std::string cache;           // empty: <folder>/.voxgrad_cache
  std::string up = "z";        // the folder's up axis
  std::string fill = "flood";  // solid fill of meshes: flood | winding
};

/// --data, --cache, --up, --fill.
void add_data_flags(ArgParser& cli, DataSource& source);
/// Their help texts (for programs that register them through Settings).
extern const char* const kDataFlagHelp;
extern const char* const kCacheFlagHelp;
extern const char* const kUpFlagHelp;
extern const char* const kFillFlagHelp;

/// VoxelDatasetOptions().seed(7).train_size(10000)
struct VoxelDatasetOptions {
  uint64_t seed = 0;
  int64_t resolution = 32;
  int64_t train_size = 10000;  // procedural only; a folder has its own
  int64_t test_size = 256;
  DataSource source{};
  /// Progress of a folder's voxelisation goes here (null: silent).
  std::ostream* log = nullptr;
};

///   VoxelDataset data({.seed = 1});
///   Tensor x = data.batch(Split::Train, {0, 5, 9});  // (3, 1, 32, 32, 32)
class VoxelDataset {
 public:
  /// Checks the options (each error names the option, value and rule); a
  /// folder is read and voxelised (or taken from its cache) here.
  explicit VoxelDataset(const VoxelDatasetOptions& options);

  const VoxelDatasetOptions& options() const {
    return options_;
  }
  int64_t size(Split split) const;
  int64_t resolution() const {
    return options_.resolution;
  }
  bool is_folder() const {
    return folder_ != nullptr;
  }
  /// The class of an item: its ShapeKind for procedural shapes, its
  /// folder's class for a folder.
  int64_t label(Split split, int64_t index) const;
  const std::vector<std::string>& class_names() const {
    return class_names_;
  }
  /// "procedural shapes (seed 1)" or the folder's path.
  std::string describe() const;
  /// The procedural shape behind an item (checked against size(split)).
  ShapeSpec shape(Split split, int64_t index) const;
  /// Occupancy (N, 1, R, R, R) float32 of the items, in the given order;
  /// procedural shapes are voxelized in parallel.
  Tensor batch(Split split, const std::vector<int64_t>& indices) const;
  /// Items [begin, end) of a split, e.g. the whole held-out set in chunks.
  Tensor range(Split split, int64_t begin, int64_t end) const;

 private:
  VoxelDatasetOptions options_;
  std::shared_ptr<data::VoxelFolder> folder_;
  std::vector<std::string> class_names_;
};

}  // namespace voxgrad::examples
