// The data set generator: same seed -> same voxels, every kind appears,
// shapes are neither empty nor clipped away, and the held-out split shares
// no shape with the training split.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "shapes.hpp"
#include "voxel_dataset.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {
std::string grid_bytes(const Tensor& batch, int64_t i) {
  const int64_t n = batch.numel() / batch.size(0);
  const float* p = batch.data<float>() + i * n;
  return std::string(reinterpret_cast<const char*>(p), n * sizeof(float));
}
}  // namespace

TEST_CASE("voxel data set is deterministic by seed and order-free") {
  VoxelDataset a({.seed = 3, .resolution = 32, .train_size = 64});
  VoxelDataset b({.seed = 3, .resolution = 32, .train_size = 64});
  VoxelDataset c({.seed = 4, .resolution = 32, .train_size = 64});
  const Tensor xa = a.batch(Split::Train, {5, 17, 40});
  const Tensor xb = b.batch(Split::Train, {40, 5, 17});
  CHECK(grid_bytes(xa, 0) == grid_bytes(xb, 1));
  CHECK(grid_bytes(xa, 1) == grid_bytes(xb, 2));
  CHECK(grid_bytes(xa, 2) == grid_bytes(xb, 0));
  CHECK(xa.shape() == Shape{3, 1, 32, 32, 32});
  const Tensor xc = c.batch(Split::Train, {5, 17, 40});
  CHECK(grid_bytes(xa, 0) != grid_bytes(xc, 0));
}

TEST_CASE("voxel data set covers every shape kind with sane volumes") {
  std::map<ShapeKind, int> count;
  const int64_t r = 32, n = 600;
  std::vector<float> v(static_cast<size_t>(r * r * r));
  for (int64_t i = 0; i < n; ++i) {
    const ShapeSpec s = sample_shape(11, Split::Train, i);
    ++count[s.kind];
    CHECK(s.parts.size() == (s.kind == ShapeKind::Union ? 2u : 1u));
    voxelize(s, r, v.data());
    double filled = 0, border = 0;
    for (int64_t z = 0; z < r; ++z)
      for (int64_t y = 0; y < r; ++y)
        for (int64_t x = 0; x < r; ++x) {
          const float o = v[static_cast<size_t>((z * r + y) * r + x)];
          filled += o;
          if (x == 0 || y == 0 || z == 0 || x == r - 1 || y == r - 1 ||
              z == r - 1)
            border += o;
        }
    INFO(describe(s));
    // Between ~0.5% and half of the grid, and barely touching its faces.
    CHECK(filled > 150);
    CHECK(filled < 0.5 * r * r * r);
    CHECK(border < 0.05 * filled);
  }
  REQUIRE(count.size() == kNumShapeKinds);
  for (const auto& [kind, c] : count) {
    INFO(shape_kind_name(kind));
    CHECK(c > n / kNumShapeKinds / 2);
  }
}

TEST_CASE("held-out split shares no shape with the training split") {
  VoxelDataset data(
      {.seed = 5, .resolution = 32, .train_size = 2000, .test_size = 200});
  std::set<std::string> train;
  for (int64_t b = 0; b < 2000; b += 250) {
    const Tensor x = data.range(Split::Train, b, b + 250);
    for (int64_t i = 0; i < 250; ++i)
      train.insert(grid_bytes(x, i));
  }
  const Tensor t = data.range(Split::Test, 0, 200);
  std::set<std::string> test;
  for (int64_t i = 0; i < 200; ++i) {
    CHECK(train.count(grid_bytes(t, i)) == 0);
    test.insert(grid_bytes(t, i));
  }
  CHECK(test.size() == 200);  // and the held-out shapes differ among themselves
}

TEST_CASE("voxel data set rejects bad options and indices, naming them") {
  CHECK_THROWS_WITH(
      VoxelDataset({.seed = 0, .resolution = 2}),
      doctest::Contains("resolution must be in [4, 256] (got 2)"));
  VoxelDataset d({.seed = 0, .resolution = 8, .train_size = 4, .test_size = 2});
  CHECK_THROWS_WITH(
      d.batch(Split::Test, {0, 2}),
      doctest::Contains("test index must be in [0, 2) (got 2)"));
}
