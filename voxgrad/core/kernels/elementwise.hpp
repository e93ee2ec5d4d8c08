#pragma once
// Elementwise kernels: NumPy broadcasting over arbitrary strides, xsimd
// vectorised, TBB-parallel above ~32K elements. They know nothing about
// autograd; each returns a new contiguous tensor (or writes into `dst`).
// Callers check shapes and dtypes and name the op in errors.

#include <vector>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

enum class UnaryOp {
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Sign,
  Relu,
  Sigmoid,
  Tanh,
  Silu,
  Square,
  Reciprocal,
  Floor,
  Isfinite,  // 1 where finite, else 0
};

/// Ops with one or two scalar parameters (a, b).
enum class ParamOp {
  Clamp,      // min(max(x, a), b)
  LeakyRelu,  // x > 0 ? x : a * x
  PowScalar,  // x ^ a
  Softplus,   // beta = a, threshold = b: log(1 + exp(a x)) / a, or x when a x >
              // b
  Affine,     // a * x + b
};

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  // Comparisons give 1 or 0 in the operands' dtype.
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
};

/// Fused formulas over two or three operands (and scalars a, b): the
/// activations' backward and the losses' hot loops, each one pass with no
/// temporary. Operand names as in the comments; all broadcast.
enum class FusedOp {
  ReluBackward,       // (grad, out): out > 0 ? grad : 0
  LeakyReluBackward,  // (grad, x; a = slope): x > 0 ? grad : grad * a
  SigmoidBackward,    // (grad, out): grad * (1 - out) * out
  TanhBackward,       // (grad, out): grad * (1 - out * out)
  SiluBackward,       // (grad, x): s = sigmoid(x); grad * s * (1 + x (1 - s))
  SoftplusBackward,   // (grad, x; a = beta, b = threshold):
                      //   x a > b ? grad : grad * sigmoid(x a)
  BceLogits,          // (x, t): (1 - t) x + softplus(-x), threshold 40
  BceLogitsBackward,  // (grad, x, t): grad * (sigmoid(x) - t)
  Bce,                // (x, t): (t - 1) max(log(1 - x), -100)
                      //         - t max(log x, -100)
  BceBackward,        // (grad, x, t): grad (x - t) / max(x (1 - x), 1e-12)
  Mse,                // (x, t): (x - t)^2
  MseBackward,        // (grad, x, t): 2 (x - t) grad
};

Tensor unary(UnaryOp op, const Tensor& x);
Tensor unary(ParamOp op, const Tensor& x, double a, double b = 0);
/// a and b must share a dtype; the result has their broadcast shape.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
/// The FusedOp formula over `in` (2 or 3 tensors of one dtype, as the op's
/// comment lists them); the result has their broadcast shape.
Tensor fused(
    FusedOp op, const std::vector<Tensor>& in, double a = 0, double b = 0);
/// cond != 0 ? a : b, broadcasting all three (one dtype).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// dst[...] = src broadcast to dst's shape, converting dtype.
void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);

}  // namespace voxgrad::kernels
