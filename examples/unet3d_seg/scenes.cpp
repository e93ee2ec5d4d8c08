#include "scenes.hpp"

#include <array>

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

const char* seg_class_name(int64_t c) {
  static constexpr std::array<const char*, kSegClasses> names{
      "background", "sphere", "box", "torus", "cylinder", "capsule"};
  VOXGRAD_CHECK(
      c >= 0 && c < kSegClasses, "seg_class_name: class ", c, " is not in [0, ",
      kSegClasses, ")");
  return names[static_cast<size_t>(c)];
}

SegBatch make_scenes(
    uint64_t seed,
    Split split,
    const std::vector<int64_t>& items,
    int64_t res) {
  VOXGRAD_CHECK(res >= 2, "make_scenes: res must be >= 2 (got ", res, ")");
  const auto n = static_cast<int64_t>(items.size());
  const int64_t cube = res * res * res;
  std::vector<float> occ(static_cast<size_t>(n * cube), 0.0f);
  std::vector<int64_t> lab(static_cast<size_t>(n * cube), 0);
  const double h = 2.0 / static_cast<double>(res);
  for (int64_t s = 0; s < n; ++s) {
    const int64_t item = items[static_cast<size_t>(s)];
    VOXGRAD_CHECK(item >= 0, "make_scenes: item ", item, " is negative");
    for (int64_t j = 0; j < 2; ++j) {
      const ShapeSpec spec = sample_shape(seed, split, 2 * item + j);
      ShapeSpec solid;
      solid.kind = spec.parts.front().kind;
      solid.parts = {spec.parts.front()};
      const int64_t label = static_cast<int64_t>(solid.kind) + 1;
      const double cx = j == 0 ? -0.5 : 0.5;
      for (int64_t z = 0; z < res; ++z)
        for (int64_t y = 0; y < res; ++y)
          for (int64_t x = 0; x < res; ++x) {
            // The solid lives in [-1, 1]^3; the scene shows it at half size
            // around (cx, 0, 0).
            const std::array<double, 3> q{
                ((static_cast<double>(x) + 0.5) * h - 1 - cx) * 2,
                ((static_cast<double>(y) + 0.5) * h - 1) * 2,
                ((static_cast<double>(z) + 0.5) * h - 1) * 2};
            if (signed_distance(solid, q) > 0)
              continue;
            const auto at =
                static_cast<size_t>(s * cube + (z * res + y) * res + x);
            occ[at] = 1.0f;
            lab[at] = label;
          }
    }
  }
  return {
      from_blob(occ.data(), {n, 1, res, res, res}),
      from_blob(lab.data(), {n, res, res, res})};
}

}  // namespace voxgrad::examples
