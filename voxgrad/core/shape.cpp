#include "voxgrad/core/shape.hpp"

#include <algorithm>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"

namespace voxgrad {

int64_t numel(const Shape& shape) {
  return checked::numel(shape, "numel");
}

Strides contiguous_strides(const Shape& shape) {
  // For a shape whose element count fits in int64 every stride does too;
  // only an empty tensor (which addresses no memory) may saturate them.
  checked::numel(shape, "contiguous_strides");
  Strides strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    if (i > 0 && __builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s))
      s = checked::kMax;
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  const int64_t lo = ndim > 0 ? -ndim : -1;
  const int64_t hi = ndim > 0 ? ndim - 1 : 0;
  VOXGRAD_CHECK(
      axis >= lo && axis <= hi, op, ": axis ", axis, " is out of range for a ",
      ndim, "-d tensor (expected ", lo, " <= axis <= ", hi, ")");
  return axis < 0 ? axis + std::max<int64_t>(ndim, 1) : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    VOXGRAD_CHECK(
        da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
        shape_str(b), " cannot be broadcast together (axis ", i, " of the ",
        "result: ", da, " vs ", db, "; extents must be equal or 1)");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool is_broadcastable_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size())
    return false;
  const size_t off = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[i + off])
      return false;
  return true;
}

}  // namespace voxgrad
