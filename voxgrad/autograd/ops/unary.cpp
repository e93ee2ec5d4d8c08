// Pointwise functions, forward and backward side by side. Backward formulas
// use differentiable ops only, so second derivatives come for free; where an
// op's derivative is cheapest from its output, record() hands the output back
// (saving it inside the closure would be a reference cycle). The
// activations' backwards are single fused ops (pointwise_backward.hpp).

#include <cmath>
#include <limits>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/autograd/pointwise_backward.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;
using kernels::ParamOp;
using kernels::UnaryOp;

namespace {
/// x, after checking it is a defined float32/float64 tensor.
const Tensor& defined(const Tensor& x, const char* op) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  require_floating(x.dtype(), op, "the input");
  return x;
}
}  // namespace

Tensor neg(const Tensor& x) {
  return record(
      Op::neg, kernels::unary(UnaryOp::Neg, defined(x, "neg")), {x}, {},
      [](const BackwardArgs& g) -> TensorList { return {-g.grad}; });
}

Tensor exp(const Tensor& x) {
  return record(
      Op::exp, kernels::unary(UnaryOp::Exp, defined(x, "exp")), {x}, {},
      [](const BackwardArgs& g) -> TensorList { return {g.grad * g.out}; },
      /*save_output=*/true);
}

Tensor log(const Tensor& x) {
  return record(
      Op::log, kernels::unary(UnaryOp::Log, defined(x, "log")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList { return {g.grad / x}; });
}

Tensor sqrt(const Tensor& x) {
  return record(
      Op::sqrt, kernels::unary(UnaryOp::Sqrt, defined(x, "sqrt")), {x}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {g.grad * 0.5 / g.out};
      },
      /*save_output=*/true);
}

Tensor abs(const Tensor& x) {
  return record(
      Op::abs, kernels::unary(UnaryOp::Abs, defined(x, "abs")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList { return {g.grad * sign(x)}; });
}

Tensor sign(const Tensor& x) {
  return kernels::unary(UnaryOp::Sign, defined(x, "sign"));
}

Tensor isfinite(const Tensor& x) {
  return kernels::unary(UnaryOp::Isfinite, defined(x, "isfinite"));
}

Tensor pow(const Tensor& x, double p) {
  VOXGRAD_CHECK(
      std::isfinite(p), "pow: the exponent must be finite (got ", p, ")");
  return record(
      Op::pow_scalar, kernels::unary(ParamOp::PowScalar, defined(x, "pow"), p),
      {x}, {x}, [x, p](const BackwardArgs& g) -> TensorList {
        if (p == 0)
          return {g.grad * 0.0};
        return {g.grad * (p * pow(x, p - 1))};
      });
}

Tensor square(const Tensor& x) {
  return x * x;
}

Tensor clamp(const Tensor& x, double min, double max) {
  VOXGRAD_CHECK(
      !std::isnan(min) && !std::isnan(max) && min <= max,
      "clamp: need min <= max (got min ", min, ", max ", max, ")");
  return record(
      Op::clamp, kernels::unary(ParamOp::Clamp, defined(x, "clamp"), min, max),
      {x}, {x}, [x, min, max](const BackwardArgs& g) -> TensorList {
        return {g.grad * (ge(x, min) * le(x, max))};
      });
}

Tensor clamp_min(const Tensor& x, double min) {
  return clamp(x, min, std::numeric_limits<double>::infinity());
}

Tensor clamp_max(const Tensor& x, double max) {
  return clamp(x, -std::numeric_limits<double>::infinity(), max);
}

Tensor relu(const Tensor& x) {
  return record(
      Op::relu, kernels::unary(UnaryOp::Relu, defined(x, "relu")), {x}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {relu_backward(g.grad, g.out)};
      },
      /*save_output=*/true);
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  VOXGRAD_CHECK(
      std::isfinite(negative_slope), "leaky_relu: negative_slope must be ",
      "finite (got ", negative_slope, ")");
  const double s = negative_slope;
  return record(
      Op::leaky_relu,
      kernels::unary(ParamOp::LeakyRelu, defined(x, "leaky_relu"), s), {x}, {x},
      [x, s](const BackwardArgs& g) -> TensorList {
        return {leaky_relu_backward(g.grad, x, s)};
      });
}

Tensor sigmoid(const Tensor& x) {
  return record(
      Op::sigmoid, kernels::unary(UnaryOp::Sigmoid, defined(x, "sigmoid")), {x},
      {},
      [](const BackwardArgs& g) -> TensorList {
        return {sigmoid_backward(g.grad, g.out)};
      },
      /*save_output=*/true);
}

Tensor tanh(const Tensor& x) {
  return record(
      Op::tanh, kernels::unary(UnaryOp::Tanh, defined(x, "tanh")), {x}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {tanh_backward(g.grad, g.out)};
      },
      /*save_output=*/true);
}

Tensor silu(const Tensor& x) {
  return record(
      Op::silu, kernels::unary(UnaryOp::Silu, defined(x, "silu")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList {
        return {silu_backward(g.grad, x)};
      });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  VOXGRAD_CHECK(
      std::isfinite(beta) && beta != 0 && !std::isnan(threshold),
      "softplus: beta must be finite and non-zero and threshold not NaN (got ",
      "beta ", beta, ", threshold ", threshold, ")");
  return record(
      Op::softplus,
      kernels::unary(
          ParamOp::Softplus, defined(x, "softplus"), beta, threshold),
      {x}, {x}, [x, beta, threshold](const BackwardArgs& g) -> TensorList {
        return {softplus_backward(g.grad, x, beta, threshold)};
      });
}

Tensor log_sigmoid(const Tensor& x) {
  return -softplus(-x);
}

}  // namespace voxgrad
