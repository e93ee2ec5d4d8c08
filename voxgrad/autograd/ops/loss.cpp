// The losses' fused ops: binary_cross_entropy, binary_cross_entropy_with_logits
// and mse_loss (unreduced), each forward one kernel pass, each input gradient
// one fused op whose own backward is written with differentiable ops, so
// double backward works.
//
// Why BCE is one op and not a composition of log/clamp/mul: PyTorch clamps
// the logs at -100 in the forward but takes the gradient from
// w (x - t) / max(x (1 - x), 1e-12), which stays finite at x = 0 and x = 1
// (predictions saturate there in practice). The composition would give
// 0 * inf = NaN at exactly those points.

#include <cmath>
#include <vector>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;
using kernels::FusedOp;

namespace {

void check_loss_pair(
    const char* op, const Tensor& input, const Tensor& target) {
  VOXGRAD_CHECK(
      input.defined() && target.defined(), op,
      ": input or target is undefined");
  VOXGRAD_CHECK(
      input.shape() == target.shape(), op, ": input ", shape_str(input.shape()),
      " and target ", shape_str(target.shape()), " must have the same shape");
  require_floating(input.dtype(), op, "input");
  require_floating(target.dtype(), op, "target");
  VOXGRAD_CHECK(
      input.dtype() == target.dtype(), op, ": input is ",
      dtype_name(input.dtype()), " but target is ", dtype_name(target.dtype()),
      "; convert one with .to(...)");
}

/// A backward op's operands: one dtype, shapes that broadcast.
void check_backward_operands(const char* op, const TensorList& in) {
  for (const Tensor& t : in) {
    VOXGRAD_CHECK(t.defined(), op, ": an operand is undefined");
    require_floating(t.dtype(), op, "an operand");
  }
  Shape s = in[0].shape();
  for (const Tensor& t : in) {
    VOXGRAD_CHECK(
        t.dtype() == in[0].dtype(), op, ": operands must have one dtype (got ",
        dtype_name(in[0].dtype()), " and ", dtype_name(t.dtype()), ")");
    s = broadcast_shapes(s, t.shape(), op);
  }
}

/// Throws naming the first element of x outside [0, 1] (the same element
/// whatever the thread count: blocks are scanned in parallel, then in order).
template <class T>
void check_probabilities(const Tensor& x, const char* op) {
  const T* p = x.data<T>();
  const int64_t n = x.numel();
  constexpr int64_t kBlock = 65536;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<int64_t> first_bad(static_cast<size_t>(blocks), -1);
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t e = std::min(n, (b + 1) * kBlock);
      for (int64_t i = b * kBlock; i < e; ++i)
        if (!(p[i] >= T(0) && p[i] <= T(1))) {
          first_bad[static_cast<size_t>(b)] = i;
          break;
        }
    }
  });
  for (int64_t i : first_bad)
    VOXGRAD_CHECK(
        i < 0, op, ": every element of input must lie in [0, 1] (got ",
        p[std::max<int64_t>(i, 0)], " at flat index ", i, " of ",
        shape_str(x.shape()),
        "); apply sigmoid first, or use binary_cross_entropy_with_logits");
}

}  // namespace

Tensor binary_cross_entropy_op(
    const Tensor& input, const Tensor& target, const Tensor& weight) {
  constexpr const char* op = "binary_cross_entropy";
  check_loss_pair(op, input, target);
  if (weight.defined()) {
    VOXGRAD_CHECK(
        is_broadcastable_to(weight.shape(), input.shape()) &&
            weight.dtype() == input.dtype(),
        op, ": weight (", dtype_name(weight.dtype()), " ",
        shape_str(weight.shape()), ") must broadcast to input (",
        dtype_name(input.dtype()), " ", shape_str(input.shape()), ")");
  }
  const Tensor x = input.detach().contiguous();
  dispatch(x.dtype(), [&]<class T>() { check_probabilities<T>(x, op); });
  Tensor out = kernels::fused(FusedOp::Bce, {x, target.detach()});
  const Tensor w = weight.defined() ? weight.detach() : Tensor();
  if (w.defined()) {
    NoGradGuard no_grad;
    out = out * w;
  }
  return record(
      Op::binary_cross_entropy, out, {input, target}, {input, target, w},
      [input, target, w](const BackwardArgs& g) -> TensorList {
        const Tensor gw = w.defined() ? g.grad * w : g.grad;
        Tensor gx, gt;
        if (g.needs[0])
          gx = binary_cross_entropy_backward(gw, input, target);
        if (g.needs[1])
          gt = gw * (log(1.0 - input) - log(input));
        return {gx, gt};
      });
}

Tensor binary_cross_entropy_backward(
    const Tensor& grad, const Tensor& input, const Tensor& target) {
  check_backward_operands(
      "binary_cross_entropy_backward", {grad, input, target});
  return record(
      Op::binary_cross_entropy_backward,
      kernels::fused(FusedOp::BceBackward, {grad, input, target}),
      {grad, input, target}, {grad, input, target},
      [grad, input, target](const BackwardArgs& g) -> TensorList {
        // r = grad (x - t) / d, d = max(x (1 - x), 1e-12), whose slope in x
        // is 1 - 2x where x (1 - x) >= 1e-12 (clamp_min's rule) and 0 below.
        const Tensor& x = input;
        Tensor gg, gx, gt;
        if (g.needs[0])
          gg = binary_cross_entropy_backward(g.grad, x, target);
        if (g.needs[1] || g.needs[2]) {
          const Tensor xx = x * (1.0 - x);
          const Tensor d = clamp_min(xx, 1e-12);
          const Tensor a = g.grad * grad / d;
          if (g.needs[1])
            gx = a - a * (x - target) * (1.0 - 2.0 * x) * ge(xx, 1e-12) / d;
          if (g.needs[2])
            gt = -a;
        }
        return {gg, gx, gt};
      });
}

Tensor binary_cross_entropy_with_logits_op(
    const Tensor& input, const Tensor& target) {
  check_loss_pair("binary_cross_entropy_with_logits", input, target);
  return record(
      Op::binary_cross_entropy_with_logits,
      kernels::fused(FusedOp::BceLogits, {input, target}), {input, target},
      {input, target}, [input, target](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? binary_cross_entropy_with_logits_backward(
                             g.grad, input, target)
                       : Tensor(),
            g.needs[1] ? -(g.grad * input) : Tensor()};
      });
}

Tensor binary_cross_entropy_with_logits_backward(
    const Tensor& grad, const Tensor& input, const Tensor& target) {
  check_backward_operands(
      "binary_cross_entropy_with_logits_backward", {grad, input, target});
  return record(
      Op::binary_cross_entropy_with_logits_backward,
      kernels::fused(FusedOp::BceLogitsBackward, {grad, input, target}),
      {grad, input, target}, {grad, input, target},
      [grad, input, target](const BackwardArgs& g) -> TensorList {
        Tensor gx;
        if (g.needs[1]) {
          const Tensor s = sigmoid(input);
          gx = g.grad * grad * (s * (1.0 - s));
        }
        return {
            g.needs[0] ? binary_cross_entropy_with_logits_backward(
                             g.grad, input, target)
                       : Tensor(),
            gx, g.needs[2] ? -(g.grad * grad) : Tensor()};
      });
}

Tensor mse_loss_op(const Tensor& input, const Tensor& target) {
  check_loss_pair("mse_loss", input, target);
  return record(
      Op::mse_loss, kernels::fused(FusedOp::Mse, {input, target}),
      {input, target}, {input, target},
      [input, target](const BackwardArgs& g) -> TensorList {
        const Tensor gx = mse_loss_backward(g.grad, input, target);
        return {g.needs[0] ? gx : Tensor(), g.needs[1] ? -gx : Tensor()};
      });
}

Tensor mse_loss_backward(
    const Tensor& grad, const Tensor& input, const Tensor& target) {
  check_backward_operands("mse_loss_backward", {grad, input, target});
  return record(
      Op::mse_loss_backward,
      kernels::fused(FusedOp::MseBackward, {grad, input, target}),
      {grad, input, target}, {grad, input, target},
      [grad, input, target](const BackwardArgs& g) -> TensorList {
        Tensor gx;
        if (g.needs[1] || g.needs[2])
          gx = g.grad * grad * 2.0;
        return {
            g.needs[0] ? mse_loss_backward(g.grad, input, target) : Tensor(),
            g.needs[1] ? gx : Tensor(), g.needs[2] ? -gx : Tensor()};
      });
}

}  // namespace voxgrad
