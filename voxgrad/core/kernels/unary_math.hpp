#pragma once
// Pointwise math and activations added with issue 11 (sin, cos, erf, ELU,
// GELU, Mish, Softsign), kept apart from elementwise.cpp's op table so each
// can change without the other. xsimd vectorised, TBB-parallel over fixed
// 16K-element pieces, every element through the same batch code (tails via a
// padded buffer): results do not depend on the thread count. No autograd.

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

enum class MathOp {
  Sin,
  Cos,
  Erf,
  Elu,       // a = alpha: x > 0 ? x : a * expm1(x)
  Gelu,      // x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
  GeluTanh,  // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
  Mish,      // x * tanh(log1p(exp(x)))
  Softsign,  // x / (1 + |x|)
};

/// A new contiguous tensor of x's shape and dtype; `a` is the op's parameter.
Tensor unary_math(MathOp op, const Tensor& x, double a = 0);

}  // namespace voxgrad::kernels
