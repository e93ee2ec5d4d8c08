// Section 3: each op's input gradient is the other op's forward, and both
// weight gradients are one computation. Shown bit for bit in float32, the
// dtype training uses.

#include <cmath>
#include <cstdio>
#include <cstring>

#include "lessons.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad::examples {
namespace {

struct Comparison {
  double max_abs_diff = 0;
  bool bit_identical = false;
};

Comparison compare(const Tensor& a, const Tensor& b) {
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  Comparison c;
  if (ca.shape() != cb.shape())
    return {INFINITY, false};
  c.max_abs_diff = amax(abs(ca - cb)).item();
  c.bit_identical = std::memcmp(
                        ca.raw_data(), cb.raw_data(),
                        static_cast<size_t>(ca.numel()) * sizeof(float)) == 0;
  return c;
}

bool report(const char* what, const char* via, const Comparison& c) {
  std::printf(
      "   %-44s = %-38s max |diff| %.1g, bit-identical: %s\n", what, via,
      c.max_abs_diff, c.bit_identical ? "yes" : "NO");
  return c.bit_identical;
}

}  // namespace

bool lesson_gradients(uint64_t seed) {
  std::printf(
      "3. Backward of one op = forward of the other (float32, same weight W)\n"
      "   x: (2, 3, 9, 9, 9) -> conv3d(x, W, stride 2, padding 1) -> (2, 8, 5, "
      "5, 5)\n\n");
  Generator gen(seed + 1);
  Tensor w = randn({8, 3, 3, 3, 3}, kFloat32, &gen);
  Tensor x = randn({2, 3, 9, 9, 9}, kFloat32, &gen);
  Tensor u = randn({2, 8, 5, 5, 5}, kFloat32, &gen);
  const Tensor gy = randn({2, 8, 5, 5, 5}, kFloat32, &gen);  // dL/d conv3d
  const Tensor gz = randn({2, 3, 9, 9, 9}, kFloat32, &gen);  // dL/d convT
  x.requires_grad_();
  u.requires_grad_();
  w.requires_grad_();

  bool ok = true;
  // Conv3d's gradient w.r.t. its input, through autograd...
  const Tensor y = conv3d(x, w, {}, 2, 1);
  const TensorList g1 = autograd::grad({y}, {x, w}, {gy});
  // ...is ConvTranspose3d's forward applied to the upstream gradient.
  const Tensor t1 = conv_transpose3d(gy.detach(), w.detach(), {}, 2, 1);
  ok &= report(
      "d<conv3d(x, W), gy>/dx (autograd)", "conv_transpose3d(gy, W)",
      compare(g1[0], t1));

  const Tensor z = conv_transpose3d(u, w, {}, 2, 1);
  const TensorList g2 = autograd::grad({z}, {u, w}, {gz});
  const Tensor t2 = conv3d(gz.detach(), w.detach(), {}, 2, 1);
  ok &= report(
      "d<conv_transpose3d(u, W), gz>/du (autograd)", "conv3d(gz, W)",
      compare(g2[0], t2));

  // <conv3d(x, W), g> and <conv_transpose3d(g, W), x> are the same bilinear
  // form in W, so their weight gradients are the same numbers: one
  // backward-weight kernel serves both ops.
  const Tensor z2 = conv_transpose3d(gy.detach(), w, {}, 2, 1);
  const TensorList g3 = autograd::grad({z2}, {w}, {x.detach()});
  ok &= report(
      "d<conv3d(x, W), gy>/dW", "d<conv_transpose3d(gy, W), x>/dW",
      compare(g1[1], g3[0]));
  std::printf(
      "\n   voxgrad has three kernels (forward, backward-data, backward-weight)"
      "\n   and no fourth: Conv3d runs forward / backward-data / "
      "backward-weight,\n   ConvTranspose3d runs backward-data / forward / "
      "backward-weight.\n   Because each backward is written with the other "
      "op, gradients of\n   gradients (the WGAN-GP penalty) need nothing "
      "new.\n\n");
  return ok;
}

}  // namespace voxgrad::examples
