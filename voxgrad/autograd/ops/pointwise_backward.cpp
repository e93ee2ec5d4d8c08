// The activations' backward formulas as ops (voxgrad/autograd/
// pointwise_backward.hpp): forward one fused kernel pass, backward written
// with differentiable ops. With r = op(grad, y), each backward returns
// dr/dgrad = the same op on the incoming gradient gg, and dr/dy from the
// second derivative of the activation (zero for the piecewise-linear ones).

#include "voxgrad/autograd/pointwise_backward.hpp"

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;
using kernels::FusedOp;

namespace {

void check_pair(const char* op, const Tensor& grad, const Tensor& y) {
  VOXGRAD_CHECK(grad.defined() && y.defined(), op, ": an operand is undefined");
  require_floating(grad.dtype(), op, "grad");
  require_floating(y.dtype(), op, "the saved operand");
  VOXGRAD_CHECK(
      grad.dtype() == y.dtype(), op, ": operands must have one dtype (got ",
      dtype_name(grad.dtype()), " and ", dtype_name(y.dtype()), ")");
  broadcast_shapes(grad.shape(), y.shape(), op);
}

}  // namespace

Tensor relu_backward(const Tensor& grad, const Tensor& out) {
  check_pair("relu_backward", grad, out);
  return record(
      Op::relu_backward, kernels::fused(FusedOp::ReluBackward, {grad, out}),
      {grad, out}, {out}, [out](const BackwardArgs& g) -> TensorList {
        // Zero slope in out (away from the kink), as PyTorch's
        // threshold_backward: a defined zero, so asking for it is not an
        // "unused input" error.
        return {
            g.needs[0] ? relu_backward(g.grad, out) : Tensor(),
            g.needs[1] ? zeros_like(out) : Tensor()};
      });
}

Tensor leaky_relu_backward(
    const Tensor& grad, const Tensor& x, double negative_slope) {
  check_pair("leaky_relu_backward", grad, x);
  const double s = negative_slope;
  return record(
      Op::leaky_relu_backward,
      kernels::fused(FusedOp::LeakyReluBackward, {grad, x}, s), {grad, x}, {x},
      [x, s](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? leaky_relu_backward(g.grad, x, s) : Tensor(),
            g.needs[1] ? zeros_like(x) : Tensor()};
      });
}

Tensor sigmoid_backward(const Tensor& grad, const Tensor& out) {
  check_pair("sigmoid_backward", grad, out);
  return record(
      Op::sigmoid_backward,
      kernels::fused(FusedOp::SigmoidBackward, {grad, out}), {grad, out},
      {grad, out}, [grad, out](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? sigmoid_backward(g.grad, out) : Tensor(),
            g.needs[1] ? g.grad * grad * (1.0 - 2.0 * out) : Tensor()};
      });
}

Tensor tanh_backward(const Tensor& grad, const Tensor& out) {
  check_pair("tanh_backward", grad, out);
  return record(
      Op::tanh_backward, kernels::fused(FusedOp::TanhBackward, {grad, out}),
      {grad, out}, {grad, out},
      [grad, out](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? tanh_backward(g.grad, out) : Tensor(),
            g.needs[1] ? g.grad * grad * out * -2.0 : Tensor()};
      });
}

Tensor silu_backward(const Tensor& grad, const Tensor& x) {
  check_pair("silu_backward", grad, x);
  return record(
      Op::silu_backward, kernels::fused(FusedOp::SiluBackward, {grad, x}),
      {grad, x}, {grad, x}, [grad, x](const BackwardArgs& g) -> TensorList {
        Tensor gx;
        if (g.needs[1]) {
          // silu'' = s (1 - s) (2 + x (1 - 2 s))
          const Tensor s = sigmoid(x);
          gx = g.grad * grad * (s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s)));
        }
        return {g.needs[0] ? silu_backward(g.grad, x) : Tensor(), gx};
      });
}

Tensor softplus_backward(
    const Tensor& grad, const Tensor& x, double beta, double threshold) {
  check_pair("softplus_backward", grad, x);
  return record(
      Op::softplus_backward,
      kernels::fused(FusedOp::SoftplusBackward, {grad, x}, beta, threshold),
      {grad, x}, {grad, x},
      [grad, x, beta, threshold](const BackwardArgs& g) -> TensorList {
        Tensor gx;
        if (g.needs[1]) {
          // d/dx grad sigmoid(beta x) = grad beta s (1 - s), 0 where linear
          const Tensor z = x * beta;
          const Tensor s = sigmoid(z);
          gx =
              g.grad * grad * (s * (1.0 - s) * beta) * (1.0 - gt(z, threshold));
        }
        return {
            g.needs[0] ? softplus_backward(g.grad, x, beta, threshold)
                       : Tensor(),
            gx};
      });
}

}  // namespace voxgrad
