#include "voxgrad/core/kernels/unary_math.hpp"

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {
namespace {

constexpr int64_t kPiece = 16384;  // elements per work unit (a multiple of W)

/// out[i] = f(in[i]) for contiguous buffers of n elements.
template <class T, class F>
void map_flat(const T* in, T* out, int64_t n, F f) {
  using V = xsimd::batch<T>;
  constexpr int64_t W = V::size;
  const int64_t pieces = (n + kPiece - 1) / kPiece;
  parallel_for(0, pieces, 2, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p * kPiece, e = std::min(n, b + kPiece);
      int64_t j = b;
      for (; j + W <= e; j += W)
        f(V::load_unaligned(in + j)).store_unaligned(out + j);
      if (j < e) {
        alignas(64) T buf[W] = {};
        std::copy(in + j, in + e, buf);
        f(V::load_aligned(buf)).store_aligned(buf);
        std::copy(buf, buf + (e - j), out + j);
      }
    }
  });
}

template <class T>
void run(MathOp op, const T* in, T* out, int64_t n, double a) {
  using V = xsimd::batch<T>;
  const V zero(T(0)), one(T(1)), half(T(0.5));
  switch (op) {
    case MathOp::Sin:
      return map_flat(in, out, n, [](V v) { return xsimd::sin(v); });
    case MathOp::Cos:
      return map_flat(in, out, n, [](V v) { return xsimd::cos(v); });
    case MathOp::Erf:
      return map_flat(in, out, n, [](V v) { return xsimd::erf(v); });
    case MathOp::Elu: {
      const V alpha(static_cast<T>(a));
      // NaN fails v > 0 and stays NaN through expm1.
      return map_flat(in, out, n, [=](V v) {
        return xsimd::select(v > zero, v, alpha * xsimd::expm1(v));
      });
    }
    case MathOp::Gelu: {
      const V r(static_cast<T>(M_SQRT1_2));
      return map_flat(in, out, n, [=](V v) {
        return v * half * (one + xsimd::erf(v * r));
      });
    }
    case MathOp::GeluTanh: {
      // PyTorch's constants: kBeta = sqrt(2 / pi), kKappa = 0.044715.
      const V beta(static_cast<T>(M_SQRT2 * M_2_SQRTPI * 0.5));
      const V kappa(static_cast<T>(0.044715));
      return map_flat(in, out, n, [=](V v) {
        const V inner = beta * (v + kappa * v * v * v);
        return half * v * (one + xsimd::tanh(inner));
      });
    }
    case MathOp::Mish:
      return map_flat(in, out, n, [](V v) {
        return v * xsimd::tanh(xsimd::log1p(xsimd::exp(v)));
      });
    case MathOp::Softsign:
      return map_flat(
          in, out, n, [=](V v) { return v / (one + xsimd::abs(v)); });
  }
  VOXGRAD_ASSERT(false);
}

}  // namespace

Tensor unary_math(MathOp op, const Tensor& x, double a) {
  Tensor src = x;
  if (!x.is_contiguous()) {
    src = empty(x.shape(), x.dtype());
    copy(x, src);
  }
  Tensor out = empty(x.shape(), x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    run<T>(op, src.data<T>(), out.mutable_data<T>(), x.numel(), a);
  });
  return out;
}

}  // namespace voxgrad::kernels
