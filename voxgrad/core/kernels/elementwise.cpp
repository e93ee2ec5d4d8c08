#include "voxgrad/core/kernels/elementwise.hpp"

#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/integer.hpp"
#include "voxgrad/core/kernels/loops.hpp"

namespace voxgrad::kernels {
namespace {

template <class T>
using Batch = xsimd::batch<T>;

// Every element goes through the batch code, including row tails and strided
// rows (staged through a small aligned buffer), so an element's result never
// depends on where a row piece happens to end.
template <class T, size_t K, class F>
void map_rows(
    T* o,
    const std::array<const T*, K>& in,
    const Shape& shape,
    const Strides& out_strides,
    const std::array<Strides, K>& in_strides,
    F f) {
  std::array<Strides, K + 1> strides;
  strides[0] = out_strides;
  for (size_t k = 0; k < K; ++k)
    strides[k + 1] = in_strides[k];
  constexpr int64_t W = Batch<T>::size;
  strided_rows<K + 1>(
      shape, strides, [&](const int64_t* off, int64_t n, const int64_t* step) {
        T* po = o + off[0];
        std::array<const T*, K> pi;
        bool unit = step[0] == 1;
        for (size_t k = 0; k < K; ++k) {
          pi[k] = in[k] + off[k + 1];
          unit = unit && (step[k + 1] == 1 || step[k + 1] == 0);
        }
        int64_t j = 0;
        if (unit) {
          for (; j + W <= n; j += W) {
            std::array<Batch<T>, K> v;
            for (size_t k = 0; k < K; ++k)
              v[k] = step[k + 1] == 0 ? Batch<T>(*pi[k])
                                      : Batch<T>::load_unaligned(pi[k] + j);
            std::apply(f, v).store_unaligned(po + j);
          }
        }
        alignas(64) T buf[K][W];
        alignas(64) T res[W];
        for (; j < n; j += W) {
          const int64_t m = std::min(W, n - j);
          for (size_t k = 0; k < K; ++k)
            for (int64_t i = 0; i < W; ++i)
              buf[k][i] = i < m ? pi[k][(j + i) * step[k + 1]] : T(0);
          std::array<Batch<T>, K> v;
          for (size_t k = 0; k < K; ++k)
            v[k] = Batch<T>::load_aligned(buf[k]);
          std::apply(f, v).store_aligned(res);
          for (int64_t i = 0; i < m; ++i)
            po[(j + i) * step[0]] = res[i];
        }
      });
}

template <class T, size_t K, class F>
Tensor map(const std::array<const Tensor*, K>& in, F f) {
  Shape shape = in[0]->shape();
  for (size_t k = 1; k < K; ++k)
    shape = broadcast_shapes(shape, in[k]->shape(), "elementwise");
  Tensor out = empty(shape, dtype_of<T>());
  std::array<const T*, K> ptrs;
  std::array<Strides, K> strides;
  for (size_t k = 0; k < K; ++k) {
    ptrs[k] = in[k]->template data<T>();
    strides[k] = broadcast_strides(in[k]->shape(), in[k]->strides(), shape);
  }
  map_rows<T, K>(out.mutable_data<T>(), ptrs, shape, out.strides(), strides, f);
  return out;
}

template <class V>
V sigmoid(const V& v) {
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

template <class T>
Tensor unary_t(UnaryOp op, const Tensor& x) {
  using V = Batch<T>;
  const std::array<const Tensor*, 1> in{&x};
  const V zero(0), one(1);
  switch (op) {
    case UnaryOp::Neg:
      return map<T>(in, [](V v) { return -v; });
    case UnaryOp::Exp:
      return map<T>(in, [](V v) { return xsimd::exp(v); });
    case UnaryOp::Log:
      return map<T>(in, [](V v) { return xsimd::log(v); });
    case UnaryOp::Sqrt:
      return map<T>(in, [](V v) { return xsimd::sqrt(v); });
    case UnaryOp::Abs:
      return map<T>(in, [](V v) { return xsimd::abs(v); });
    case UnaryOp::Sign:
      return map<T>(in, [=](V v) {
        return xsimd::select(v > zero, one, zero) -
               xsimd::select(v < zero, one, zero);
      });
    case UnaryOp::Relu:  // select keeps NaN, as PyTorch's relu does
      return map<T>(in, [=](V v) { return xsimd::select(v < zero, zero, v); });
    case UnaryOp::Sigmoid:
      return map<T>(in, [](V v) { return sigmoid(v); });
    case UnaryOp::Tanh:
      return map<T>(in, [](V v) { return xsimd::tanh(v); });
    case UnaryOp::Silu:
      return map<T>(in, [](V v) { return v * sigmoid(v); });
    case UnaryOp::Square:
      return map<T>(in, [](V v) { return v * v; });
    case UnaryOp::Reciprocal:
      return map<T>(in, [](V v) { return V(1) / v; });
    case UnaryOp::Floor:
      return map<T>(in, [](V v) { return xsimd::floor(v); });
    case UnaryOp::Isfinite: {
      const V big(std::numeric_limits<T>::max());
      return map<T>(in, [=](V v) {
        return xsimd::select(xsimd::abs(v) <= big, one, zero);
      });
    }
  }
  VOXGRAD_ASSERT(false);
}

template <class T>
Tensor param_t(ParamOp op, const Tensor& x, double a, double b) {
  using V = Batch<T>;
  const std::array<const Tensor*, 1> in{&x};
  const V va(static_cast<T>(a)), vb(static_cast<T>(b)), zero(0);
  switch (op) {
    case ParamOp::Clamp:  // NaN stays NaN
      return map<T>(in, [=](V v) {
        return xsimd::select(v < va, va, xsimd::select(v > vb, vb, v));
      });
    case ParamOp::LeakyRelu:
      return map<T>(
          in, [=](V v) { return xsimd::select(v > zero, v, v * va); });
    case ParamOp::PowScalar:
      if (a == std::floor(a) && std::abs(a) <= 64) {
        const auto n = static_cast<int64_t>(a);
        return map<T>(in, [=](V v) { return int_pow(v, n); });
      }
      if (a == 0.5)
        return map<T>(in, [](V v) { return xsimd::sqrt(v); });
      return map<T>(in, [=](V v) { return xsimd::pow(v, va); });
    case ParamOp::Softplus:
      return map<T>(in, [=](V v) {
        const V z = v * va;
        return xsimd::select(z > vb, v, xsimd::log1p(xsimd::exp(z)) / va);
      });
    case ParamOp::Affine:
      return map<T>(in, [=](V v) { return va * v + vb; });
  }
  VOXGRAD_ASSERT(false);
}

template <class T>
Tensor binary_t(BinaryOp op, const Tensor& a, const Tensor& b) {
  using V = Batch<T>;
  const std::array<const Tensor*, 2> in{&a, &b};
  const V zero(0), one(1);
  const V inf(std::numeric_limits<T>::infinity());
  switch (op) {
    case BinaryOp::Add:
      return map<T>(in, [](V x, V y) { return x + y; });
    case BinaryOp::Sub:
      return map<T>(in, [](V x, V y) { return x - y; });
    case BinaryOp::Mul:
      return map<T>(in, [](V x, V y) { return x * y; });
    case BinaryOp::Div:
      return map<T>(in, [](V x, V y) { return x / y; });
    case BinaryOp::Pow:  // with 0^0 = 1 and 0^-y = inf, as in C and PyTorch
      return map<T>(in, [=](V x, V y) {
        const V z = xsimd::pow(x, y);
        const V at_zero =
            xsimd::select(y == zero, one, xsimd::select(y < zero, inf, zero));
        return xsimd::select(x == zero, at_zero, z);
      });
    case BinaryOp::Maximum:  // NaN propagates from either side
      return map<T>(in, [](V x, V y) {
        return xsimd::select(x != x, x, xsimd::select(x < y, y, x));
      });
    case BinaryOp::Minimum:
      return map<T>(in, [](V x, V y) {
        return xsimd::select(x != x, x, xsimd::select(y < x, y, x));
      });
    case BinaryOp::Eq:
      return map<T>(
          in, [=](V x, V y) { return xsimd::select(x == y, one, zero); });
    case BinaryOp::Ne:
      return map<T>(
          in, [=](V x, V y) { return xsimd::select(x != y, one, zero); });
    case BinaryOp::Lt:
      return map<T>(
          in, [=](V x, V y) { return xsimd::select(x < y, one, zero); });
    case BinaryOp::Le:
      return map<T>(
          in, [=](V x, V y) { return xsimd::select(x <= y, one, zero); });
    case BinaryOp::Gt:
      return map<T>(
          in, [=](V x, V y) { return xsimd::select(x > y, one, zero); });
    case BinaryOp::Ge:
      return map<T>(
          in, [=](V x, V y) { return xsimd::select(x >= y, one, zero); });
  }
  VOXGRAD_ASSERT(false);
}

template <class S, class D>
void copy_t(const Tensor& src, const Tensor& dst) {
  const S* ps = src.data<S>();
  D* pd = dst.mutable_data<D>();
  const std::array<Strides, 2> strides{
      dst.strides(),
      broadcast_strides(src.shape(), src.strides(), dst.shape())};
  strided_rows<2>(
      dst.shape(), strides,
      [&](const int64_t* off, int64_t n, const int64_t* step) {
        D* o = pd + off[0];
        const S* s = ps + off[1];
        if (step[0] == 1 && step[1] == 1) {
          for (int64_t j = 0; j < n; ++j)
            o[j] = static_cast<D>(s[j]);
        } else {
          for (int64_t j = 0; j < n; ++j)
            o[j * step[0]] = static_cast<D>(s[j * step[1]]);
        }
      });
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  return dispatch(x.dtype(), [&]<class T>() { return unary_t<T>(op, x); });
}

Tensor unary(ParamOp op, const Tensor& x, double a, double b) {
  return dispatch(
      x.dtype(), [&]<class T>() { return param_t<T>(op, x, a, b); });
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  VOXGRAD_ASSERT(a.dtype() == b.dtype());
  return dispatch(a.dtype(), [&]<class T>() { return binary_t<T>(op, a, b); });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  VOXGRAD_ASSERT(a.dtype() == b.dtype() && cond.dtype() == a.dtype());
  return dispatch(a.dtype(), [&]<class T>() {
    using V = Batch<T>;
    const V zero(0);
    const std::array<const Tensor*, 3> in{&cond, &a, &b};
    return map<T>(
        in, [=](V c, V x, V y) { return xsimd::select(c != zero, x, y); });
  });
}

void copy(const Tensor& src, const Tensor& dst) {
  if (src.dtype() == kInt64 || dst.dtype() == kInt64)
    return copy_int64(src, dst, "copy");  // voxgrad/core/kernels/integer.cpp
  dispatch(src.dtype(), [&]<class S>() {
    dispatch(dst.dtype(), [&]<class D>() { copy_t<S, D>(src, dst); });
  });
}

void fill(const Tensor& dst, double value) {
  if (dst.dtype() == kInt64)  // voxgrad/core/kernels/integer.cpp
    return fill_int64(dst, integral_value(value, "fill", "value"));
  dispatch(dst.dtype(), [&]<class T>() {
    T* p = dst.mutable_data<T>();
    const T v = static_cast<T>(value);
    const std::array<Strides, 1> strides{dst.strides()};
    strided_rows<1>(
        dst.shape(), strides,
        [&](const int64_t* off, int64_t n, const int64_t* step) {
          for (int64_t j = 0; j < n; ++j)
            p[off[0] + j * step[0]] = v;
        });
  });
}

}  // namespace voxgrad::kernels
