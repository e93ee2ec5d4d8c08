#include "voxel_dataset.hpp"

#include <numeric>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::examples {

VoxelDataset::VoxelDataset(const VoxelDatasetOptions& options)
    : options_(options) {
  VOXGRAD_CHECK(
      options.resolution >= 4 && options.resolution <= 256,
      "VoxelDataset: resolution must be in [4, 256] (got ", options.resolution,
      ")");
  VOXGRAD_CHECK(
      options.train_size >= 1, "VoxelDataset: train_size must be >= 1 (got ",
      options.train_size, ")");
  VOXGRAD_CHECK(
      options.test_size >= 1, "VoxelDataset: test_size must be >= 1 (got ",
      options.test_size, ")");
}

int64_t VoxelDataset::size(Split split) const {
  return split == Split::Train ? options_.train_size : options_.test_size;
}

ShapeSpec VoxelDataset::shape(Split split, int64_t index) const {
  VOXGRAD_CHECK(
      index >= 0 && index < size(split), "VoxelDataset: ", split_name(split),
      " index must be in [0, ", size(split), ") (got ", index, ")");
  return sample_shape(options_.seed, split, index);
}

Tensor VoxelDataset::batch(
    Split split, const std::vector<int64_t>& indices) const {
  const int64_t r = options_.resolution;
  const int64_t n = static_cast<int64_t>(indices.size());
  for (int64_t i : indices)
    (void)shape(split, i);  // range check before any work
  Tensor out = empty({n, 1, r, r, r});
  float* data = n > 0 ? out.mutable_data<float>() : nullptr;
  // Each item fills its own slab, so the result does not depend on threads.
  parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      voxelize(
          sample_shape(options_.seed, split, indices[static_cast<size_t>(i)]),
          r, data + i * r * r * r);
  });
  return out;
}

Tensor VoxelDataset::range(Split split, int64_t begin, int64_t end) const {
  VOXGRAD_CHECK(
      0 <= begin && begin <= end && end <= size(split), "VoxelDataset: range [",
      begin, ", ", end, ") must lie in [0, ", size(split), ")");
  std::vector<int64_t> idx(static_cast<size_t>(end - begin));
  std::iota(idx.begin(), idx.end(), begin);
  return batch(split, idx);
}

}  // namespace voxgrad::examples
