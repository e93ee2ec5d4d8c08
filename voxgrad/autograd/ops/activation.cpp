// Pointwise math (sin, cos, erf) and the activations of issue 11 (ELU, GELU,
// Mish, Hardtanh, Softsign, PReLU), forward and backward side by side, with
// PyTorch 1.13's formulas. Forwards run one kernel
// (voxgrad/core/kernels/unary_math); backwards are written with
// differentiable ops, so second derivatives come for free. Where a formula
// would evaluate exp() of a large argument on a branch the mask discards,
// the argument is clamped first: 0 * inf would be NaN in the double
// backward.

#include <cmath>
#include <string>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/kernels/unary_math.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;
using kernels::MathOp;

namespace {
const Tensor& defined(const Tensor& x, const char* op) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  require_floating(x.dtype(), op, "the input");
  return x;
}

/// d/dx erf(x / sqrt 2) / 2 = exp(-x^2 / 2) / sqrt(2 pi): the normal density.
Tensor normal_pdf(const Tensor& x) {
  return exp(x * x * -0.5) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
}
}  // namespace

Tensor sin(const Tensor& x) {
  return record(
      Op::sin, kernels::unary_math(MathOp::Sin, defined(x, "sin")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList { return {g.grad * cos(x)}; });
}

Tensor cos(const Tensor& x) {
  return record(
      Op::cos, kernels::unary_math(MathOp::Cos, defined(x, "cos")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList {
        return {-(g.grad * sin(x))};
      });
}

Tensor erf(const Tensor& x) {
  return record(
      Op::erf, kernels::unary_math(MathOp::Erf, defined(x, "erf")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList {
        return {g.grad * (exp(-(x * x)) * M_2_SQRTPI)};
      });
}

Tensor elu(const Tensor& x, double alpha) {
  VOXGRAD_CHECK(
      std::isfinite(alpha), "elu: alpha must be finite (got ", alpha, ")");
  return record(
      Op::elu, kernels::unary_math(MathOp::Elu, defined(x, "elu"), alpha), {x},
      {x}, [x, alpha](const BackwardArgs& g) -> TensorList {
        // PyTorch's elu_backward: 1 for x > 0, alpha * exp(x) for x <= 0.
        const Tensor pos = gt(x, 0.0);
        return {
            g.grad * (pos + (1.0 - pos) * (exp(clamp_max(x, 0.0)) * alpha))};
      });
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  VOXGRAD_CHECK(
      approximate == "none" || approximate == "tanh",
      "gelu: approximate must be \"none\" or \"tanh\" (got \"", approximate,
      "\")");
  if (approximate == "none") {
    return record(
        Op::gelu, kernels::unary_math(MathOp::Gelu, defined(x, "gelu")), {x},
        {x}, [x](const BackwardArgs& g) -> TensorList {
          const Tensor cdf = (erf(x * M_SQRT1_2) + 1.0) * 0.5;
          return {g.grad * (cdf + x * normal_pdf(x))};
        });
  }
  return record(
      Op::gelu, kernels::unary_math(MathOp::GeluTanh, defined(x, "gelu")), {x},
      {x}, [x](const BackwardArgs& g) -> TensorList {
        constexpr double beta = M_SQRT2 * M_2_SQRTPI * 0.5, kappa = 0.044715;
        const Tensor t = tanh((x + x * x * x * kappa) * beta);
        const Tensor inner_dx = (x * x * (3 * kappa) + 1.0) * beta;
        return {
            g.grad * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * inner_dx)};
      });
}

Tensor mish(const Tensor& x) {
  return record(
      Op::mish, kernels::unary_math(MathOp::Mish, defined(x, "mish")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList {
        const Tensor t = tanh(softplus(x));
        return {g.grad * (t + x * sigmoid(x) * (1.0 - t * t))};
      });
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  VOXGRAD_CHECK(
      !std::isnan(min_val) && !std::isnan(max_val) && max_val > min_val,
      "hardtanh: max_val must be greater than min_val (got min_val ", min_val,
      ", max_val ", max_val, ")");
  return record(
      Op::hardtanh,
      kernels::unary(
          kernels::ParamOp::Clamp, defined(x, "hardtanh"), min_val, max_val),
      {x}, {x}, [x, min_val, max_val](const BackwardArgs& g) -> TensorList {
        // Zero at the bounds themselves (PyTorch's hardtanh_backward), where
        // clamp's gradient is one.
        return {g.grad * (gt(x, min_val) * lt(x, max_val))};
      });
}

Tensor softsign(const Tensor& x) {
  return record(
      Op::softsign,
      kernels::unary_math(MathOp::Softsign, defined(x, "softsign")), {x}, {x},
      [x](const BackwardArgs& g) -> TensorList {
        const Tensor d = abs(x) + 1.0;
        return {g.grad / (d * d)};
      });
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  defined(x, "prelu");
  VOXGRAD_CHECK(weight.defined(), "prelu: weight is undefined");
  VOXGRAD_CHECK(
      weight.dtype() == x.dtype(), "prelu: weight is ",
      dtype_name(weight.dtype()), " but the input is ", dtype_name(x.dtype()),
      "; convert one with .to(...)");
  // PyTorch: the channel axis is 1 (inputs of fewer than 2 dimensions have
  // one channel), and the weight holds 1 or that many slopes.
  const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  VOXGRAD_CHECK(
      weight.dim() <= 1 && (weight.numel() == 1 || weight.numel() == channels),
      "prelu: weight must be 0-D or 1-D with 1 or ", channels,
      " (the input's channels, axis 1) elements (got weight ",
      shape_str(weight.shape()), " for input ", shape_str(x.shape()), ")");
  // The weight as seen by x: (1, C, 1, ...) or all ones.
  Shape wshape(static_cast<size_t>(x.dim()), 1);
  if (weight.numel() > 1)
    wshape[1] = channels;
  std::vector<int64_t> reduce_axes;  // every axis of x the weight spans
  for (int64_t a = 0; a < x.dim(); ++a)
    if (weight.numel() == 1 || a != 1)
      reduce_axes.push_back(a);
  const Tensor wb = weight.detach().reshape(wshape);
  const Tensor y = kernels::where(
      kernels::binary(kernels::BinaryOp::Gt, x, scalar_tensor(0, x.dtype())), x,
      kernels::binary(kernels::BinaryOp::Mul, x, wb));
  const Shape w_shape = weight.shape();
  return record(
      Op::prelu, y, {x, weight}, {x, weight},
      [x, weight, wshape, reduce_axes,
       w_shape](const BackwardArgs& g) -> TensorList {
        const Tensor neg = 1.0 - gt(x, 0.0);  // NaN counts as not > 0
        Tensor gx, gw;
        if (g.needs[0])
          gx = g.grad * (1.0 - neg + neg * weight.reshape(wshape));
        if (g.needs[1])
          gw = sum(g.grad * neg * x, reduce_axes).reshape(w_shape);
        return {gx, gw};
      });
}

}  // namespace voxgrad
