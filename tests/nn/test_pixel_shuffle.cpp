// PixelShuffle3d / PixelUnshuffle3d (NOTE [ PixelShuffle3d channel order ])
// and nn::init::icnr_: element placement against the formula, inverses,
// gradients, errors, and ICNR's promise that conv + shuffle starts without a
// checkerboard. PyTorch parity (its reshape/permute reference, tied to
// torch's 2-D pixel_shuffle) is in test_kit_golden.cpp.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE(
    "PixelShuffle3d places channel c r^3 + i r^2 + j r + k at (i, j, k)") {
  const int64_t r = 2, c = 3, d = 2, h = 3, w = 1;
  const Tensor x =
      arange(2 * c * 8 * d * h * w, kFloat64).reshape({2, c * 8, d, h, w});
  const Tensor y = PixelShuffle3d(r)(x);
  REQUIRE(y.shape() == Shape{2, c, d * r, h * r, w * r});
  const auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t cc = 0; cc < c; ++cc)
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < r; ++j)
          for (int64_t k = 0; k < r; ++k)
            for (int64_t z = 0; z < d; ++z)
              for (int64_t yy = 0; yy < h; ++yy)
                for (int64_t xx = 0; xx < w; ++xx) {
                  const int64_t src =
                      ((((n * c * 8) + cc * 8 + i * 4 + j * 2 + k) * d + z) *
                           h +
                       yy) *
                          w +
                      xx;
                  const int64_t dst =
                      (((n * c + cc) * d * r + z * r + i) * h * r + yy * r +
                       j) *
                          w * r +
                      xx * r + k;
                  CHECK(
                      yv[static_cast<size_t>(dst)] ==
                      xv[static_cast<size_t>(src)]);
                }
  CHECK(test::bit_equal(PixelUnshuffle3d(r)(y), x));
  CHECK(test::bit_equal(
      functional::pixel_shuffle3d(x.select(0, 1), 2), y.select(0, 1)));
  const Tensor x3 = randn({27, 2, 1, 2}, kFloat64).requires_grad_();
  CHECK(gradcheck(
      [](const TensorList& in) { return PixelShuffle3d(3)(in[0]); }, {x3}));
  std::ostringstream os;
  os << PixelShuffle3d(2) << "|" << PixelUnshuffle3d(3);
  CHECK(
      os.str() ==
      "PixelShuffle3d(upscale_factor=2)  # 0 parameters|"
      "PixelUnshuffle3d(downscale_factor=3)  # 0 parameters");
}

TEST_CASE("PixelShuffle3d: errors name the extents and the factor") {
  CHECK_ERROR_CONTAINS(PixelShuffle3d(0), "upscale_factor", ">= 1", "0");
  CHECK_ERROR_CONTAINS(
      PixelShuffle3d(2)(zeros({1, 12, 2, 2, 2})), "pixel_shuffle3d",
      "divisible by upscale_factor^3 = 8", "12");
  CHECK_ERROR_CONTAINS(
      PixelShuffle3d(2)(zeros({8, 2, 2})), "at least 4 dimensions");
  CHECK_ERROR_CONTAINS(
      PixelUnshuffle3d(2)(zeros({1, 1, 4, 3, 2})), "pixel_unshuffle3d",
      "(4, 3, 2)", "downscale_factor 2");
  CHECK_ERROR_CONTAINS(
      PixelShuffle3d(int64_t{1} << 22)(zeros({1, 1, 1, 1, 1})),
      "upscale_factor^3", "overflows");
}

TEST_CASE("icnr_: the r^3 channels of each block share one sub-kernel") {
  Generator gen(3);
  Conv3d conv(Conv3dOptions(4, 3 * 8, 3).padding(1).bias(false));
  init::icnr_(conv->weight(), 2, &gen);
  const Tensor w = conv->weight().reshape({3, 8, -1});
  for (int64_t s = 1; s < 8; ++s)
    CHECK(test::bit_equal(w.select(1, s), w.select(1, 0)));
  // kaiming_normal_ statistics for the sub-kernel: std sqrt(2 / fan_in).
  const double sd = std::sqrt(mean(w.select(1, 0) * w.select(1, 0)).item());
  CHECK(sd == doctest::Approx(std::sqrt(2.0 / (4 * 27))).epsilon(0.25));
  // conv + shuffle is then nearest upsampling of a conv: every 2x2x2 block
  // of the output holds one value, for any input.
  const Tensor x = randn({1, 4, 3, 4, 5}, kFloat32, &gen);
  const Tensor y = PixelShuffle3d(2)(conv(x));
  const Tensor block = y.reshape({1, 3, 3, 2, 4, 2, 5, 2});
  const Tensor first = block.slice(3, 0, 1).slice(5, 0, 1).slice(7, 0, 1);
  CHECK(test::bit_equal(block, first.expand(block.shape()).contiguous()));
  // Grouped weights: the blocks lie within each group.
  Conv3d grouped(Conv3dOptions(4, 16, 1).groups(2).bias(false));
  init::icnr_(
      grouped->weight(), [](Tensor t) { init::uniform_(t, 1.0, 2.0); }, 2);
  const Tensor g = grouped->weight().reshape({2, 1, 8, 2});
  CHECK(test::bit_equal(g, g.slice(2, 0, 1).expand(g.shape()).contiguous()));
  CHECK_ERROR_CONTAINS(
      init::icnr_(Conv3d(Conv3dOptions(2, 12, 3))->weight(), 2), "icnr_",
      "divisible by upscale_factor^3 = 8", "12");
  CHECK_ERROR_CONTAINS(init::icnr_(zeros({8, 3}), 2), "icnr_", "[8, 3]");
  CHECK_ERROR_CONTAINS(init::icnr_(zeros({8, 1, 1, 1, 1}), 0), "[1, 1024]");
}

}  // namespace voxgrad::nn
