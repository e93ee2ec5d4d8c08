#include "voxgrad/core/kernels/integer.hpp"

#include <cmath>
#include <type_traits>

#include "voxgrad/core/kernels/loops.hpp"

namespace voxgrad::kernels {
namespace {

/// Calls body(flat_index, offset) for every element of a (shape, strides)
/// view in row-major order, serially (used only to find the first bad
/// value, so that the message does not depend on the thread count).
template <class Body>
void for_each_offset(const Shape& shape, const Strides& strides, Body body) {
  const int64_t n = numel(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!body(i, off))
      return;
    for (size_t d = shape.size(); d-- > 0;) {
      off += strides[d];
      if (++idx[d] < shape[d])
        break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/// Converting v to int64 is defined (C++ [conv.fpint]) only when trunc(v)
/// fits; 2^63 is exact in float and double.
template <class S>
bool fits_int64(S v) {
  constexpr S kLimit = S(9223372036854775808.0);
  return std::isfinite(v) && v >= -kLimit && v < kLimit;
}

template <class S, class D>
void convert(const Tensor& src, const Tensor& dst) {
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
        for (int64_t j = 0; j < n; ++j)
          o[j * step[0]] = static_cast<D>(s[j * step[1]]);
      });
}

}  // namespace

void copy_int64(const Tensor& src, const Tensor& dst, const char* op) {
  VOXGRAD_ASSERT(src.dtype() == kInt64 || dst.dtype() == kInt64);
  if (dst.dtype() == kInt64 && src.dtype() != kInt64) {
    dispatch(src.dtype(), [&]<class S>() {
      const S* ps = src.data<S>();
      for_each_offset(src.shape(), src.strides(), [&](int64_t i, int64_t off) {
        VOXGRAD_CHECK(
            fits_int64(ps[off]), op, ": element ", i, " of the ",
            dtype_name(src.dtype()), " source ", shape_str(src.shape()), " is ",
            ps[off],
            ", which has no int64 value (NaN, infinities and values outside "
            "[-2^63, 2^63) cannot be converted)");
        return true;
      });
    });
  }
  dispatch_all(src.dtype(), [&]<class S>() {
    dispatch_all(dst.dtype(), [&]<class D>() { convert<S, D>(src, dst); });
  });
}

void fill_int64(const Tensor& dst, int64_t value) {
  VOXGRAD_ASSERT(dst.dtype() == kInt64);
  int64_t* p = dst.mutable_data<int64_t>();
  const std::array<Strides, 1> strides{dst.strides()};
  strided_rows<1>(
      dst.shape(), strides,
      [&](const int64_t* off, int64_t n, const int64_t* step) {
        for (int64_t j = 0; j < n; ++j)
          p[off[0] + j * step[0]] = value;
      });
}

Tensor compare_int64(BinaryOp op, const Tensor& a, const Tensor& b) {
  VOXGRAD_ASSERT(a.dtype() == kInt64 && b.dtype() == kInt64);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "compare");
  Tensor out = empty(shape, kInt64);
  const int64_t* pa = a.data<int64_t>();
  const int64_t* pb = b.data<int64_t>();
  int64_t* po = out.mutable_data<int64_t>();
  const std::array<Strides, 3> strides{
      out.strides(), broadcast_strides(a.shape(), a.strides(), shape),
      broadcast_strides(b.shape(), b.strides(), shape)};
  auto run = [&](auto cmp) {
    strided_rows<3>(
        shape, strides,
        [&](const int64_t* off, int64_t n, const int64_t* step) {
          for (int64_t j = 0; j < n; ++j)
            po[off[0] + j * step[0]] =
                cmp(pa[off[1] + j * step[1]], pb[off[2] + j * step[2]]) ? 1 : 0;
        });
  };
  switch (op) {
    case BinaryOp::Eq:
      run([](int64_t x, int64_t y) { return x == y; });
      break;
    case BinaryOp::Ne:
      run([](int64_t x, int64_t y) { return x != y; });
      break;
    case BinaryOp::Lt:
      run([](int64_t x, int64_t y) { return x < y; });
      break;
    case BinaryOp::Le:
      run([](int64_t x, int64_t y) { return x <= y; });
      break;
    case BinaryOp::Gt:
      run([](int64_t x, int64_t y) { return x > y; });
      break;
    case BinaryOp::Ge:
      run([](int64_t x, int64_t y) { return x >= y; });
      break;
    default:
      VOXGRAD_ASSERT(false);  // arithmetic: refused by the caller
  }
  return out;
}

}  // namespace voxgrad::kernels
