#include "voxgrad/data/augment.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::data {
namespace {

struct Draw {
  bool flip_x = false, flip_y = false;
  int64_t turns = 0;
  int64_t shift[3] = {0, 0, 0};  // z, y, x
};

constexpr uint64_t kCountersPerItem = 6;

int64_t wrap(int64_t v, int64_t n) {
  return ((v % n) + n) % n;
}

}  // namespace

Tensor augment(const Tensor& batch, const AugmentOptions& o, Generator& gen) {
  VOXGRAD_CHECK(
      batch.dim() == 5 && batch.dtype() == kFloat32,
      "augment: expected a float32 (N, C, D, H, W) batch, got ",
      shape_str(batch.shape()));
  const int64_t n = batch.size(0), c = batch.size(1), d = batch.size(2),
                h = batch.size(3), w = batch.size(4);
  VOXGRAD_CHECK(
      !o.rotate90 || h == w, "augment: rotations about z need H == W (got H ",
      h, ", W ", w, ")");
  VOXGRAD_CHECK(
      o.max_shift >= 0 && o.max_shift < std::min({d, h, w}),
      "augment: max_shift must be in [0, ", std::min({d, h, w}), ") (got ",
      o.max_shift, ")");
  const uint64_t first =
      gen.advance(static_cast<uint64_t>(n) * kCountersPerItem);
  std::vector<Draw> draws(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    auto u = [&](uint64_t k) {
      return detail::uniform01(
          first + static_cast<uint64_t>(i) * kCountersPerItem + k, gen.seed());
    };
    Draw& dr = draws[static_cast<size_t>(i)];
    dr.flip_x = o.flip && u(0) < 0.5;
    dr.flip_y = o.flip && u(1) < 0.5;
    dr.turns =
        o.rotate90 ? std::min<int64_t>(3, static_cast<int64_t>(u(2) * 4)) : 0;
    for (int a = 0; a < 3; ++a) {
      const int64_t span = 2 * o.max_shift + 1;
      dr.shift[a] = std::min<int64_t>(
                        span - 1, static_cast<int64_t>(
                                      u(3 + static_cast<uint64_t>(a)) *
                                      static_cast<double>(span))) -
                    o.max_shift;
    }
  }
  const Tensor in = batch.contiguous();
  const std::vector<float> src = in.to_vector<float>();
  std::vector<float> dst(src.size(), 0.0f);
  const int64_t vol = d * h * w;
  parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Draw& dr = draws[static_cast<size_t>(i)];
      for (int64_t z = 0; z < d; ++z)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            // Undo the shift, then the rotation, then the flips.
            int64_t sz = z - dr.shift[0], sy = y - dr.shift[1],
                    sx = x - dr.shift[2];
            if (o.circular) {
              sz = wrap(sz, d), sy = wrap(sy, h), sx = wrap(sx, w);
            } else if (
                sz < 0 || sz >= d || sy < 0 || sy >= h || sx < 0 || sx >= w) {
              continue;  // zero-filled
            }
            // One counter-clockwise quarter turn (seen from +z) maps
            // (x, y) -> (W - 1 - y, x); its inverse is (y, W - 1 - x).
            for (int64_t t = 0; t < dr.turns; ++t) {
              const int64_t px = sx;
              sx = sy;
              sy = w - 1 - px;
            }
            if (dr.flip_x)
              sx = w - 1 - sx;
            if (dr.flip_y)
              sy = h - 1 - sy;
            for (int64_t ch = 0; ch < c; ++ch) {
              const int64_t base = (i * c + ch) * vol;
              dst[static_cast<size_t>(base + (z * h + y) * w + x)] =
                  src[static_cast<size_t>(base + (sz * h + sy) * w + sx)];
            }
          }
    }
  });
  return from_blob(dst.data(), batch.shape());
}

}  // namespace voxgrad::data
