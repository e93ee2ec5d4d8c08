#pragma once
// Elementwise kernels: NumPy broadcasting over arbitrary strides, xsimd
// vectorised, TBB-parallel above ~32K elements. They know nothing about
// autograd; each returns a new contiguous tensor (or writes into `dst`).
// Callers check shapes and dtypes and name the op in errors.

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

Tensor unary(UnaryOp op, const Tensor& x);
Tensor unary(ParamOp op, const Tensor& x, double a, double b = 0);
/// a and b must share a dtype; the result has their broadcast shape.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
/// cond != 0 ? a : b, broadcasting all three (one dtype).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// dst[...] = src broadcast to dst's shape, converting dtype.
void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);

}  // namespace voxgrad::kernels
