// Section 6: a checkerboard-free upsampler. Sub-voxel convolution (a
// Conv3d to C r^3 channels, then PixelShuffle3d(r); Shi et al. 2016 in 2-D)
// gives each of the r^3 positions of an output block its own kernel; drawn
// at random they differ, and the output repeats a period-r pattern.
// ICNR (Aitken et al. 2017) draws one kernel per block and copies it to all
// r^3 channels, so the layer starts as nearest upsampling of a conv.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "image.hpp"
#include "lessons.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/init.hpp"
#include "voxgrad/nn/pixel_shuffle.hpp"

namespace voxgrad::examples {
namespace {

constexpr int64_t kIn = 8;

// The middle z-slice of a (1, 1, D, H, W) tensor, its minimum white and its
// maximum black (values may be negative), each voxel 8 x 8 pixels.
Image signed_slice_picture(const Tensor& t, const std::string& caption) {
  const Tensor c = t.contiguous();
  const int64_t d = c.size(2), h = c.size(3), w = c.size(4);
  const float* p = c.data<float>() + (d / 2) * h * w;
  const auto [lo, hi] = std::minmax_element(p, p + h * w);
  const float span = std::max(*hi - *lo, 1e-20f);
  const int px = 8;
  Image img(static_cast<int>(w) * px + 8, static_cast<int>(h) * px + 24);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const auto g =
          static_cast<uint8_t>(255 - 255 * (p[y * w + x] - *lo) / span);
      img.fill_rect(
          4 + static_cast<int>(x) * px, 20 + static_cast<int>(y) * px, px, px,
          {g, g, g});
    }
  img.draw_text(4, 4, caption, kBlack);
  return img;
}

// The first 8 values of row y of slice z, two decimals.
std::string row(const Tensor& t, int64_t z, int64_t y) {
  const Tensor c = t.contiguous();
  const int64_t h = c.size(3), w = c.size(4);
  const float* p = c.data<float>() + (z * h + y) * w;
  std::string s;
  char buf[32];
  for (int64_t x = 0; x < std::min<int64_t>(w, 8); ++x) {
    std::snprintf(buf, sizeof buf, " %5.2f", static_cast<double>(p[x]));
    s += buf;
  }
  return s + " ...";
}

// max - min over the voxels at least `border` away from every face.
double interior_spread(const Tensor& t, int64_t border) {
  Tensor c = t;
  for (int64_t a = 2; a < 5; ++a)
    c = c.slice(a, border, c.size(a) - border);
  return amax(c).item() + amax(-c).item();
}

}  // namespace

bool lesson_icnr(const std::string& out_dir, uint64_t seed) {
  std::printf(
      "6. A checkerboard-free upsampler: ICNR + PixelShuffle3d\n"
      "   Sub-voxel convolution: Conv3d(1 -> 8, kernel 3, padding 1, no "
      "bias),\n   then PixelShuffle3d(2) moves channel i*4 + j*2 + k to "
      "offset (i, j, k)\n   of each 2 x 2 x 2 output block. Same all-ones "
      "input (1, 1, 8, 8, 8):\n\n");
  Generator gen(seed);
  const Tensor x = ones({1, 1, kIn, kIn, kIn});
  nn::Conv3d conv(nn::Conv3dOptions(1, 8, 3).padding(1).bias(false), &gen);
  nn::PixelShuffle3d shuffle(2);
  const Tensor plain = shuffle(conv(x));
  nn::init::icnr_(conv->weight(), 2, &gen);
  const Tensor icnr = shuffle(conv(x));
  std::printf(
      "   default init (8 different kernels), output (1, 1, 16, 16, 16):\n"
      "     z = 8, y = 8:%s\n"
      "     z = 8, y = 9:%s\n"
      "   ICNR init (one kernel copied to the 8 channels of each block):\n"
      "     z = 8, y = 8:%s\n"
      "     z = 8, y = 9:%s\n\n",
      row(plain, 8, 8).c_str(), row(plain, 8, 9).c_str(),
      row(icnr, 8, 8).c_str(), row(icnr, 8, 9).c_str());
  // Away from the zero padding the conv of an all-ones input is constant,
  // so with ICNR the whole interior is one value; the default init repeats
  // eight values with period 2 on every axis.
  const double spread_icnr = interior_spread(icnr, 2);
  const double spread_plain = interior_spread(plain, 2);
  std::printf(
      "   Interior spread (max - min two voxels in from the faces): default "
      "%.3g,\n   ICNR %.3g. Only the faces differ, where the conv reads "
      "zero padding.\n",
      spread_plain, spread_icnr);
  const bool ok = spread_icnr == 0 && spread_plain > 1e-3;

  const Tensor k3 = conv_transpose3d(x, ones({1, 1, 3, 3, 3}), {}, 2, 1, 1);
  const Image pic = tile_grid(
      {signed_slice_picture(k3, "convT k3 s2"),
       signed_slice_picture(plain, "conv+shuffle"),
       signed_slice_picture(icnr, "ICNR+shuffle")},
      3, 6);
  const std::string path = out_dir + "/icnr.png";
  write_png(path, pic);
  std::printf("   Picture of the three middle slices: %s\n\n", path.c_str());
  return ok;
}

}  // namespace voxgrad::examples
