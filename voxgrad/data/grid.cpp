#include "voxgrad/data/grid.hpp"

#include <cmath>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"

namespace voxgrad::data {

int64_t checked_voxel_count(
    int64_t d, int64_t h, int64_t w, const std::string& what) {
  VOXGRAD_CHECK(
      d >= 1 && h >= 1 && w >= 1 && d <= kMaxGridExtent &&
          h <= kMaxGridExtent && w <= kMaxGridExtent,
      what, ": each extent must be in [1, ", kMaxGridExtent, "] (got [", d,
      ", ", h, ", ", w, "])");
  const int64_t n = checked::mul(
      checked::mul(d, h, what.c_str(), "voxel count"), w, what.c_str(),
      "voxel count");
  VOXGRAD_CHECK(
      n <= kMaxGridVoxels, what, ": [", d, ", ", h, ", ", w, "] is ", n,
      " voxels, more than the limit of ", kMaxGridVoxels);
  return n;
}

VoxelGrid::VoxelGrid(int64_t d, int64_t h, int64_t w)
    : depth(d), height(h), width(w) {
  const int64_t n = checked_voxel_count(d, h, w, "VoxelGrid");
  occupancy.assign(static_cast<size_t>(n), 0);
}

int64_t VoxelGrid::count() const {
  int64_t n = 0;
  for (uint8_t v : occupancy)
    n += v;
  return n;
}

Tensor VoxelGrid::tensor() const {
  std::vector<float> values(occupancy.begin(), occupancy.end());
  return from_blob(values.data(), {1, depth, height, width});
}

VoxelGrid grid_from_tensor(const Tensor& t, double threshold) {
  VOXGRAD_CHECK(
      t.dim() == 3 || (t.dim() == 4 && t.size(0) == 1),
      "grid_from_tensor: expected shape (D, H, W) or (1, D, H, W), got ",
      shape_str(t.shape()));
  VOXGRAD_CHECK(
      t.dtype() == kFloat32 || t.dtype() == kFloat64,
      "grid_from_tensor: expected float32 or float64");
  const int64_t a = t.dim() - 3;
  VoxelGrid g(t.size(a), t.size(a + 1), t.size(a + 2));
  const Tensor c = t.to(kFloat64).contiguous();
  const std::vector<double> v = c.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    VOXGRAD_CHECK(!std::isnan(v[i]), "grid_from_tensor: value ", i, " is NaN");
    g.occupancy[i] = v[i] > threshold ? 1 : 0;
  }
  return g;
}

VoxelGrid downsample_any(const VoxelGrid& g, int64_t f) {
  VOXGRAD_CHECK(
      f >= 1 && g.depth % f == 0 && g.height % f == 0 && g.width % f == 0,
      "downsample_any: factor ", f, " must divide every extent of [", g.depth,
      ", ", g.height, ", ", g.width, "]");
  VoxelGrid out(g.depth / f, g.height / f, g.width / f);
  for (int64_t z = 0; z < g.depth; ++z)
    for (int64_t y = 0; y < g.height; ++y)
      for (int64_t x = 0; x < g.width; ++x)
        if (g.at(z, y, x))
          out.set(z / f, y / f, x / f, true);
  return out;
}

VoxelGrid to_resolution(const VoxelGrid& g, int64_t r) {
  if (g.depth == r && g.height == r && g.width == r)
    return g;
  VOXGRAD_CHECK(
      g.is_cube() && r >= 1 && g.depth > r && g.depth % r == 0, "a grid of [",
      g.depth, ", ", g.height, ", ", g.width, "] cannot be brought to ", r,
      "^3: it must be a cube whose side is ", r,
      " times an integer (voxgrad downsamples, it does not invent voxels)");
  return downsample_any(g, g.depth / r);
}

UpAxis parse_up_axis(const std::string& text) {
  if (text == "y")
    return UpAxis::Y;
  if (text == "z")
    return UpAxis::Z;
  VOXGRAD_FAIL("up axis must be \"y\" or \"z\" (got \"", text, "\")");
}

VoxelGrid y_up_to_z_up(const VoxelGrid& g) {
  // (x, y, z) -> (x, -z, y): new z is old y, new y is old -z.
  VoxelGrid out(g.height, g.depth, g.width);
  for (int64_t z = 0; z < out.depth; ++z)
    for (int64_t y = 0; y < out.height; ++y)
      for (int64_t x = 0; x < out.width; ++x)
        out.set(z, y, x, g.at(g.depth - 1 - y, z, x));
  return out;
}

}  // namespace voxgrad::data
