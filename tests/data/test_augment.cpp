// Augmentations: exact geometry of each transform, and determinism from
// the generator's state.

#include <doctest/doctest.h>

#include <array>
#include <set>

#include "voxgrad/core/error.hpp"
#include "voxgrad/data/augment.hpp"

using namespace voxgrad;
using namespace voxgrad::data;

namespace {

// (N, 1, 4, 5, 5) with one voxel set per item, at (z, y, x).
Tensor one_voxel(int64_t n, int64_t z, int64_t y, int64_t x) {
  std::vector<float> v(static_cast<size_t>(n * 4 * 5 * 5), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i * 100 + (z * 5 + y) * 5 + x)] = 1;
  return from_blob(v.data(), {n, 1, 4, 5, 5});
}

// (z, y, x) of the set voxel of item i.
std::array<int64_t, 3> where(const Tensor& t, int64_t i) {
  const std::vector<float> v = t.to_vector<float>();
  std::array<int64_t, 3> at{-1, -1, -1};
  for (int64_t k = 0; k < 100; ++k)
    if (v[static_cast<size_t>(i * 100 + k)] == 1)
      at = {k / 25, (k / 5) % 5, k % 5};
  return at;
}

}  // namespace

TEST_CASE("augment: each voxel lands where its draws say") {
  Generator gen(5);
  const Tensor x = one_voxel(64, 1, 0, 1);
  const Tensor y = augment(x, {.flip = true, .rotate90 = true}, gen);
  CHECK(y.sum().item() == 64);
  // Under flips and quarter turns about z, z is kept and (x, y) stays on the
  // orbit of (1, 0): {(1,0),(3,0),(4,1),(4,3),(3,4),(1,4),(0,3),(0,1)}.
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int64_t i = 0; i < 64; ++i) {
    const auto a = where(y, i);
    CHECK(a[0] == 1);
    seen.insert({a[2], a[1]});
  }
  CHECK(
      seen ==
      std::set<std::pair<int64_t, int64_t>>{
          {1, 0}, {3, 0}, {4, 1}, {4, 3}, {3, 4}, {1, 4}, {0, 3}, {0, 1}});
  // Shifts: zero-filled voxels leave the grid, circular ones wrap.
  Generator g2(6);
  const Tensor s = augment(one_voxel(64, 0, 0, 0), {.max_shift = 1}, g2);
  CHECK(s.sum().item() < 64);
  CHECK(s.sum().item() > 0);
  Generator g3(6);
  const Tensor c =
      augment(one_voxel(64, 0, 0, 0), {.max_shift = 1, .circular = true}, g3);
  CHECK(c.sum().item() == 64);
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t a : where(c, i))
      CHECK((a == 0 || a == 1 || a == 3 || a == 4));
}

TEST_CASE("augment: a pure function of the generator's state") {
  const Tensor x = one_voxel(8, 2, 1, 3);
  const AugmentOptions o{.flip = true, .rotate90 = true, .max_shift = 1};
  Generator a(9), b(9);
  const Tensor first = augment(x, o, a);
  CHECK(a.offset() == 8 * 6);
  CHECK((augment(x, o, b).to_vector<float>() == first.to_vector<float>()));
  // Restored mid-stream, it repeats the next draw.
  Generator c(9);
  c.set_state(9, a.offset());
  CHECK(
      (augment(x, o, a).to_vector<float>() ==
       augment(x, o, c).to_vector<float>()));
  // Without options, the batch comes back unchanged.
  Generator d(1);
  CHECK((augment(x, {}, d).to_vector<float>() == x.to_vector<float>()));
}

TEST_CASE("augment: bad batches and options") {
  Generator g(1);
  CHECK_THROWS_AS(augment(zeros({2, 4, 4, 4}), {}, g), Error);
  CHECK_THROWS_WITH_AS(
      augment(zeros({1, 1, 4, 4, 6}), {.rotate90 = true}, g),
      doctest::Contains("H == W"), Error);
  CHECK_THROWS_WITH_AS(
      augment(zeros({1, 1, 4, 4, 4}), {.max_shift = 4}, g),
      doctest::Contains("max_shift"), Error);
}
