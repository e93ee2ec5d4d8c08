#pragma once
// The procedural voxel data set (shapes.hpp) as tensors: a train split and a
// held-out test split of fixed sizes, generated on demand (a 32^3 shape takes
// well under a millisecond), so nothing is stored and any index can be read
// in any order by any process.

#include <cstdint>
#include <vector>

#include "shapes.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

/// VoxelDatasetOptions().seed(7).train_size(10000)
struct VoxelDatasetOptions {
  uint64_t seed = 0;
  int64_t resolution = 32;
  int64_t train_size = 10000;
  int64_t test_size = 256;
};

///   VoxelDataset data({.seed = 1});
///   Tensor x = data.batch(Split::Train, {0, 5, 9});  // (3, 1, 32, 32, 32)
class VoxelDataset {
 public:
  /// Checks the options (each error names the option, value and rule).
  explicit VoxelDataset(const VoxelDatasetOptions& options);

  const VoxelDatasetOptions& options() const {
    return options_;
  }
  int64_t size(Split split) const;
  int64_t resolution() const {
    return options_.resolution;
  }
  /// The shape behind item `index` (checked against size(split)).
  ShapeSpec shape(Split split, int64_t index) const;
  /// Occupancy (N, 1, R, R, R) float32 of the items, in the given order;
  /// shapes are voxelized in parallel.
  Tensor batch(Split split, const std::vector<int64_t>& indices) const;
  /// Items [begin, end) of a split, e.g. the whole held-out set in chunks.
  Tensor range(Split split, int64_t begin, int64_t end) const;

 private:
  VoxelDatasetOptions options_;
};

}  // namespace voxgrad::examples
