#pragma once
// The elementwise kernels' SIMD loops, templated on an xsimd architecture
// and compiled once per instruction set (elementwise.cpp: baseline,
// elementwise_avx2.cpp, elementwise_avx512.cpp); see NOTE [ ISA dispatch ]
// in isa.hpp. Internal header: everything is in an anonymous namespace
// except the table, which holds plain function pointers.

#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/elementwise_table.hpp"
#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/loops.hpp"

VOXGRAD_SIMD_WARNINGS_BEGIN
namespace voxgrad::kernels::detail {
namespace {

// Every element goes through the batch code, including row tails and strided
// rows (staged through a small aligned buffer), so an element's result never
// depends on where a row piece happens to end.
template <class T, class A, int K, class F>
void map_rows(const MapArgs<T>& args, F f) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t W = B::size;
  for_each_row(
      args.plan, [&](const int64_t* off, int64_t n, const int64_t* step) {
        T* po = args.out + off[0];
        const T* pi[K];
        bool unit = step[0] == 1;
        for (int k = 0; k < K; ++k) {
          pi[k] = args.in[k] + off[k + 1];
          unit = unit && (step[k + 1] == 1 || step[k + 1] == 0);
        }
        int64_t j = 0;
        if (unit) {
          for (; j + W <= n; j += W) {
            B v[K];
            for (int k = 0; k < K; ++k)
              v[k] =
                  step[k + 1] == 0 ? B(*pi[k]) : B::load_unaligned(pi[k] + j);
            if constexpr (K == 1)
              f(v[0]).store_unaligned(po + j);
            else if constexpr (K == 2)
              f(v[0], v[1]).store_unaligned(po + j);
            else
              f(v[0], v[1], v[2]).store_unaligned(po + j);
          }
        }
        alignas(64) T buf[K][W];
        alignas(64) T res[W];
        for (; j < n; j += W) {
          const int64_t m = n - j < W ? n - j : W;
          for (int k = 0; k < K; ++k)
            for (int64_t i = 0; i < W; ++i)
              buf[k][i] = i < m ? pi[k][(j + i) * step[k + 1]] : T(0);
          B v[K];
          for (int k = 0; k < K; ++k)
            v[k] = B::load_aligned(buf[k]);
          if constexpr (K == 1)
            f(v[0]).store_aligned(res);
          else if constexpr (K == 2)
            f(v[0], v[1]).store_aligned(res);
          else
            f(v[0], v[1], v[2]).store_aligned(res);
          for (int64_t i = 0; i < m; ++i)
            po[(j + i) * step[0]] = res[i];
        }
      });
}

template <class V>
V sigmoid_v(const V& v) {
  return V(1) / (V(1) + xsimd::exp(-v));
}

// x^n for integer n by repeated squaring: exact where PyTorch's is, and
// defined for negative bases.
template <class V>
V int_pow(V x, int64_t n) {
  if (n < 0)
    return V(1) / int_pow(x, -n);
  V r(1);
  while (n) {
    if (n & 1)
      r *= x;
    x *= x;
    n >>= 1;
  }
  return r;
}

template <class T, class A>
void unary_k(UnaryOp op, const MapArgs<T>& a) {
  using V = xsimd::batch<T, A>;
  const V zero(0), one(1);
  switch (op) {
    case UnaryOp::Neg: {  // flip the sign bit: -0 for +0 on every ISA
      const V sign(T(-0.0));
      return map_rows<T, A, 1>(a, [=](V v) { return v ^ sign; });
    }
    case UnaryOp::Exp:
      return map_rows<T, A, 1>(a, [](V v) { return xsimd::exp(v); });
    case UnaryOp::Log:
      return map_rows<T, A, 1>(a, [](V v) { return xsimd::log(v); });
    case UnaryOp::Sqrt:
      return map_rows<T, A, 1>(a, [](V v) { return xsimd::sqrt(v); });
    case UnaryOp::Abs:
      return map_rows<T, A, 1>(a, [](V v) { return xsimd::abs(v); });
    case UnaryOp::Sign:
      return map_rows<T, A, 1>(a, [=](V v) {
        return xsimd::select(v > zero, one, zero) -
               xsimd::select(v < zero, one, zero);
      });
    case UnaryOp::Relu:  // select keeps NaN, as PyTorch's relu does
      return map_rows<T, A, 1>(
          a, [=](V v) { return xsimd::select(v < zero, zero, v); });
    case UnaryOp::Sigmoid:
      return map_rows<T, A, 1>(a, [](V v) { return sigmoid_v(v); });
    case UnaryOp::Tanh:
      return map_rows<T, A, 1>(a, [](V v) { return xsimd::tanh(v); });
    case UnaryOp::Silu:
      return map_rows<T, A, 1>(a, [](V v) { return v * sigmoid_v(v); });
    case UnaryOp::Square:
      return map_rows<T, A, 1>(a, [](V v) { return v * v; });
    case UnaryOp::Reciprocal:
      return map_rows<T, A, 1>(a, [](V v) { return V(1) / v; });
    case UnaryOp::Floor:  // keeps -0 (xsimd's SSE2 floor returns +0)
      return map_rows<T, A, 1>(
          a, [=](V v) { return xsimd::select(v == zero, v, xsimd::floor(v)); });
    case UnaryOp::Isfinite: {
      const V big(std::numeric_limits<T>::max());
      return map_rows<T, A, 1>(a, [=](V v) {
        return xsimd::select(xsimd::abs(v) <= big, one, zero);
      });
    }
  }
}

template <class T, class A>
void param_k(ParamOp op, const MapArgs<T>& a, double pa, double pb) {
  using V = xsimd::batch<T, A>;
  const V va(static_cast<T>(pa)), vb(static_cast<T>(pb)), zero(0);
  switch (op) {
    case ParamOp::Clamp:  // NaN stays NaN
      return map_rows<T, A, 1>(a, [=](V v) {
        return xsimd::select(v < va, va, xsimd::select(v > vb, vb, v));
      });
    case ParamOp::LeakyRelu:
      return map_rows<T, A, 1>(
          a, [=](V v) { return xsimd::select(v > zero, v, v * va); });
    case ParamOp::PowScalar: {
      if (pa == std::floor(pa) && std::abs(pa) <= 64) {
        const auto n = static_cast<int64_t>(pa);
        return map_rows<T, A, 1>(a, [=](V v) { return int_pow(v, n); });
      }
      if (pa == 0.5)
        return map_rows<T, A, 1>(a, [](V v) { return xsimd::sqrt(v); });
      return map_rows<T, A, 1>(a, [=](V v) { return xsimd::pow(v, va); });
    }
    case ParamOp::Softplus:
      return map_rows<T, A, 1>(a, [=](V v) {
        const V z = v * va;
        return xsimd::select(z > vb, v, xsimd::log1p(xsimd::exp(z)) / va);
      });
    case ParamOp::Affine:
      return map_rows<T, A, 1>(a, [=](V v) { return va * v + vb; });
  }
}

template <class T, class A>
void binary_k(BinaryOp op, const MapArgs<T>& a) {
  using V = xsimd::batch<T, A>;
  const V zero(0), one(1);
  const V inf(std::numeric_limits<T>::infinity());
  switch (op) {
    case BinaryOp::Add:
      return map_rows<T, A, 2>(a, [](V x, V y) { return x + y; });
    case BinaryOp::Sub:
      return map_rows<T, A, 2>(a, [](V x, V y) { return x - y; });
    case BinaryOp::Mul:
      return map_rows<T, A, 2>(a, [](V x, V y) { return x * y; });
    case BinaryOp::Div:
      return map_rows<T, A, 2>(a, [](V x, V y) { return x / y; });
    case BinaryOp::Pow:  // with 0^0 = 1 and 0^-y = inf, as in C and PyTorch
      return map_rows<T, A, 2>(a, [=](V x, V y) {
        const V z = xsimd::pow(x, y);
        const V at_zero =
            xsimd::select(y == zero, one, xsimd::select(y < zero, inf, zero));
        return xsimd::select(x == zero, at_zero, z);
      });
    case BinaryOp::Maximum:  // NaN propagates from either side
      return map_rows<T, A, 2>(a, [](V x, V y) {
        return xsimd::select(x != x, x, xsimd::select(x < y, y, x));
      });
    case BinaryOp::Minimum:
      return map_rows<T, A, 2>(a, [](V x, V y) {
        return xsimd::select(x != x, x, xsimd::select(y < x, y, x));
      });
    case BinaryOp::Eq:
      return map_rows<T, A, 2>(
          a, [=](V x, V y) { return xsimd::select(x == y, one, zero); });
    case BinaryOp::Ne:  // as !(x == y): true for NaN (xsimd's AVX != is not)
      return map_rows<T, A, 2>(
          a, [=](V x, V y) { return xsimd::select(x == y, zero, one); });
    case BinaryOp::Lt:
      return map_rows<T, A, 2>(
          a, [=](V x, V y) { return xsimd::select(x < y, one, zero); });
    case BinaryOp::Le:
      return map_rows<T, A, 2>(
          a, [=](V x, V y) { return xsimd::select(x <= y, one, zero); });
    case BinaryOp::Gt:
      return map_rows<T, A, 2>(
          a, [=](V x, V y) { return xsimd::select(x > y, one, zero); });
    case BinaryOp::Ge:
      return map_rows<T, A, 2>(
          a, [=](V x, V y) { return xsimd::select(x >= y, one, zero); });
  }
}

template <class T, class A>
void where_k(const MapArgs<T>& a) {
  using V = xsimd::batch<T, A>;
  const V zero(0);
  map_rows<T, A, 3>(
      a, [=](V c, V x, V y) { return xsimd::select(c != zero, x, y); });
}

template <class T, class A>
void fused_k(FusedOp op, const MapArgs<T>& a, double pa, double pb) {
  using V = xsimd::batch<T, A>;
  const V zero(0), one(1), two(2), va(static_cast<T>(pa)),
      vb(static_cast<T>(pb));
  switch (op) {
    case FusedOp::ReluBackward:
      return map_rows<T, A, 2>(
          a, [=](V g, V y) { return xsimd::select(y > zero, g, zero); });
    case FusedOp::LeakyReluBackward:
      return map_rows<T, A, 2>(
          a, [=](V g, V x) { return xsimd::select(x > zero, g, g * va); });
    case FusedOp::SigmoidBackward:
      return map_rows<T, A, 2>(a, [=](V g, V y) { return g * (one - y) * y; });
    case FusedOp::TanhBackward:
      return map_rows<T, A, 2>(a, [=](V g, V y) { return g * (one - y * y); });
    case FusedOp::SiluBackward:
      return map_rows<T, A, 2>(a, [=](V g, V x) {
        const V s = sigmoid_v(x);
        return g * s * (one + x * (one - s));
      });
    case FusedOp::SoftplusBackward:
      return map_rows<T, A, 2>(a, [=](V g, V x) {
        const V z = x * va;
        return xsimd::select(z > vb, g, g * sigmoid_v(z));
      });
    case FusedOp::BceLogits: {
      // As softplus(-x, 1, 40) then (1 - t) * x + sp: the same operations,
      // so the same bits as that composition.
      const V forty(T(40));
      return map_rows<T, A, 2>(a, [=](V x, V t) {
        const V z = -x;
        const V sp = xsimd::select(z > forty, z, xsimd::log1p(xsimd::exp(z)));
        return (one - t) * x + sp;
      });
    }
    case FusedOp::BceLogitsBackward:
      return map_rows<T, A, 3>(
          a, [=](V g, V x, V t) { return g * (sigmoid_v(x) - t); });
    case FusedOp::Bce: {
      const V floor_(T(-100));
      return map_rows<T, A, 2>(a, [=](V x, V t) {
        const V log_x = xsimd::max(xsimd::log(x), floor_);
        const V log_1mx = xsimd::max(xsimd::log1p(-x), floor_);
        return (t - one) * log_1mx - t * log_x;
      });
    }
    case FusedOp::BceBackward: {
      const V tiny(T(1e-12));
      return map_rows<T, A, 3>(a, [=](V g, V x, V t) {
        const V d = x * (one - x);
        return g * (x - t) / xsimd::select(d < tiny, tiny, d);
      });
    }
    case FusedOp::Mse:
      return map_rows<T, A, 2>(a, [](V x, V t) {
        const V d = x - t;
        return d * d;
      });
    case FusedOp::MseBackward:
      return map_rows<T, A, 3>(
          a, [=](V g, V x, V t) { return two * (x - t) * g; });
  }
}

template <class T, class A>
constexpr ElementwiseTable<T> make_elementwise_table(const char* name) {
  return {name,           &unary_k<T, A>, &param_k<T, A>, &binary_k<T, A>,
          &where_k<T, A>, &fused_k<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
VOXGRAD_SIMD_WARNINGS_END
