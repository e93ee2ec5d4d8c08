// Section 5: the checkerboard artefact of stride-2 transposed convolutions
// (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts",
// Distill 2016), counted exactly with all-ones weights, and its twin in the
// gradient of a strided Conv3d.

#include <algorithm>
#include <cstdio>
#include <string>

#include "image.hpp"
#include "lessons.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad::examples {
namespace {

constexpr int64_t kIn = 8;

// The middle z-slice of a (1, 1, D, H, W) tensor as grey levels (white = 0,
// black = the maximum), each voxel 8 x 8 pixels, with a caption.
Image slice_picture(const Tensor& t, const std::string& caption) {
  const Tensor c = t.contiguous();
  const int64_t d = c.size(2), h = c.size(3), w = c.size(4);
  const float* p = c.data<float>() + (d / 2) * h * w;
  const float top = *std::max_element(p, p + h * w);
  const int px = 8;
  Image img(static_cast<int>(w) * px + 8, static_cast<int>(h) * px + 24);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const auto g = static_cast<uint8_t>(255 - 255 * p[y * w + x] / top);
      img.fill_rect(
          4 + static_cast<int>(x) * px, 20 + static_cast<int>(y) * px, px, px,
          {g, g, g});
    }
  img.draw_text(4, 4, caption, kBlack);
  return img;
}

// Values along row y of slice z.
std::string row(const Tensor& t, int64_t z, int64_t y) {
  const Tensor c = t.contiguous();
  const int64_t h = c.size(3), w = c.size(4);
  const float* p = c.data<float>() + (z * h + y) * w;
  std::string s;
  for (int64_t x = 0; x < w; ++x)
    s += std::to_string(static_cast<int>(p[x])) + (x + 1 < w ? " " : "");
  return s;
}

}  // namespace

bool lesson_checkerboard(const std::string& out_dir) {
  std::printf(
      "5. The checkerboard of stride-2 transposed convolutions\n"
      "   All-ones input (1, 1, 8, 8, 8) and all-ones weights, so each output\n"
      "   voxel counts the kernel taps that reach it:\n\n");
  const Tensor x = ones({1, 1, kIn, kIn, kIn});
  const Tensor k3 = conv_transpose3d(x, ones({1, 1, 3, 3, 3}), {}, 2, 1, 1);
  const Tensor k4 = conv_transpose3d(x, ones({1, 1, 4, 4, 4}), {}, 2, 1);
  std::printf(
      "   kernel 3, stride 2 (output_padding 1), output (1, 1, 16, 16, 16):\n"
      "     z = 8, y = 8:  %s\n"
      "     z = 7, y = 7:  %s\n"
      "   kernel 4, stride 2, output (1, 1, 16, 16, 16):\n"
      "     z = 8, y = 8:  %s\n"
      "     z = 7, y = 7:  %s\n\n",
      row(k3, 8, 8).c_str(), row(k3, 7, 7).c_str(), row(k4, 8, 8).c_str(),
      row(k4, 7, 7).c_str());
  std::printf(
      "   With kernel 3, even output positions get 1 tap per axis and odd "
      "ones 2,\n   so a 3-D output alternates 1, 2, 4, 8 taps: a "
      "checkerboard before any\n   training, which a generator must learn "
      "to cancel. Kernel 4 = 2 x stride\n   gives every interior voxel 2 "
      "taps per axis (8 in all): even overlap.\n");

  // The same counting, run backwards: the gradient of a stride-2 Conv3d
  // with kernel 3 w.r.t. its input IS that transposed convolution applied to
  // the upstream gradient, so it has the same pattern.
  Tensor in = ones({1, 1, 2 * kIn, 2 * kIn, 2 * kIn});
  in.requires_grad_();
  const Tensor y = conv3d(in, ones({1, 1, 3, 3, 3}), {}, 2, 1);
  const Tensor g = autograd::grad({y}, {in}, {ones_like(y)})[0];
  std::printf(
      "   The input gradient of Conv3d(kernel 3, stride 2) for an all-ones\n"
      "   upstream gradient (the adjoint, section 3) has it too:\n"
      "     z = 7, y = 7:  %s\n\n",
      row(g, 7, 7).c_str());
  const bool ok = row(g, 7, 7) == row(k3, 7, 7) &&
                  row(k4, 7, 7) == "4 8 8 8 8 8 8 8 8 8 8 8 8 8 8 4";

  const Image pic = tile_grid(
      {slice_picture(k3, "convT k3 s2"), slice_picture(k4, "convT k4 s2"),
       slice_picture(g, "conv k3 s2: dL/dx")},
      3, 6);
  const std::string path = out_dir + "/checkerboard.png";
  write_png(path, pic);
  std::printf("   Picture of the three middle slices: %s\n\n", path.c_str());
  return ok;
}

}  // namespace voxgrad::examples
