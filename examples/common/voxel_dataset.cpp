#include "voxel_dataset.hpp"

#include <numeric>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::examples {
namespace {

data::Split to_data(Split s) {
  return s == Split::Train ? data::Split::Train : data::Split::Test;
}

}  // namespace

const char* const kDataFlagHelp =
    "folder of meshes (.obj .off .stl .ply) or grids (.binvox .npy .npz) in "
    "class sub-folders, e.g. ModelNet10 (class/train|test/*.off); empty: "
    "procedural shapes";
const char* const kCacheFlagHelp =
    "where --data's voxelised grids are cached (default: "
    "<data>/.voxgrad_cache)";
const char* const kUpFlagHelp = "up axis of --data's files (ShapeNet: y)";
const char* const kFillFlagHelp =
    "solid fill of --data's meshes: flood (any orientation) or winding "
    "(fills through holes)";

void add_data_flags(ArgParser& cli, DataSource& s) {
  cli.add("data", &s.folder, kDataFlagHelp);
  cli.add("cache", &s.cache, kCacheFlagHelp);
  cli.add("up", &s.up, kUpFlagHelp, {"z", "y"});
  cli.add("fill", &s.fill, kFillFlagHelp, {"flood", "winding"});
}

VoxelDataset::VoxelDataset(const VoxelDatasetOptions& options)
    : options_(options) {
  VOXGRAD_CHECK(
      options.resolution >= 4 && options.resolution <= 256,
      "VoxelDataset: resolution must be in [4, 256] (got ", options.resolution,
      ")");
  if (!options.source.folder.empty()) {
    data::VoxelFolderOptions fo;
    fo.resolution = options.resolution;
    fo.up = data::parse_up_axis(options.source.up);
    fo.solid = data::parse_solid_method(options.source.fill);
    fo.cache_dir = options.source.cache;
    folder_ = std::make_shared<data::VoxelFolder>(options.source.folder, fo);
    folder_->prepare(options.log);
    VOXGRAD_CHECK(
        size(Split::Train) >= 1 && size(Split::Test) >= 1, "--data '",
        options.source.folder,
        "' needs at least one training and one test item (has ",
        size(Split::Train), " and ", size(Split::Test),
        "); use class/train/ and class/test/ folders");
    class_names_ = folder_->classes();
    return;
  }
  VOXGRAD_CHECK(
      options.train_size >= 1, "VoxelDataset: train_size must be >= 1 (got ",
      options.train_size, ")");
  VOXGRAD_CHECK(
      options.test_size >= 1, "VoxelDataset: test_size must be >= 1 (got ",
      options.test_size, ")");
  for (int k = 0; k < kNumShapeKinds; ++k)
    class_names_.push_back(shape_kind_name(static_cast<ShapeKind>(k)));
}

int64_t VoxelDataset::size(Split split) const {
  if (folder_)
    return folder_->size(to_data(split));
  return split == Split::Train ? options_.train_size : options_.test_size;
}

int64_t VoxelDataset::label(Split split, int64_t index) const {
  if (folder_)
    return folder_->item(to_data(split), index).label;
  return static_cast<int64_t>(shape(split, index).kind);
}

std::string VoxelDataset::describe() const {
  if (folder_)
    return "'" + options_.source.folder + "' (" +
           std::to_string(class_names_.size()) + " classes)";
  return "procedural shapes (data seed " + std::to_string(options_.seed) + ")";
}

ShapeSpec VoxelDataset::shape(Split split, int64_t index) const {
  VOXGRAD_CHECK(
      !folder_,
      "VoxelDataset: a folder's items are grids, not procedural shapes");
  VOXGRAD_CHECK(
      index >= 0 && index < size(split), "VoxelDataset: ", split_name(split),
      " index must be in [0, ", size(split), ") (got ", index, ")");
  return sample_shape(options_.seed, split, index);
}

Tensor VoxelDataset::batch(
    Split split, const std::vector<int64_t>& indices) const {
  if (folder_)
    return folder_->batch(to_data(split), indices);
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
