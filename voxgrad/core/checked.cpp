#include "voxgrad/core/checked.hpp"

#include <cmath>

namespace voxgrad::checked {

int64_t numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  bool zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    VOXGRAD_CHECK(
        shape[i] >= 0, op, ": extents must be >= 0 (got ", shape[i],
        " on axis ", i, " of ", shape_str(shape), ")");
    zero = zero || shape[i] == 0;
  }
  // A zero extent makes any product of the others valid (PyTorch allows
  // shape [0, 2^62, 2^62]): multiply only when no extent is zero.
  if (zero)
    return 0;
  for (int64_t s : shape) {
    VOXGRAD_CHECK(
        !__builtin_mul_overflow(n, s, &n), op, ": shape ", shape_str(shape),
        " has more than ", kMax, " elements");
  }
  return n;
}

size_t nbytes(int64_t numel, size_t itemsize, const char* op) {
  VOXGRAD_ASSERT(numel >= 0);
  uint64_t bytes;
  VOXGRAD_CHECK(
      !__builtin_mul_overflow(static_cast<uint64_t>(numel), itemsize, &bytes) &&
          bytes <= kMaxBytes,
      op, ": ", numel, " elements of ", itemsize,
      " bytes exceed the largest tensor voxgrad can allocate (", kMaxBytes,
      " bytes)");
  return static_cast<size_t>(bytes);
}

int64_t to_int64(double v, const char* op, const char* what) {
  // 2^63 is exactly representable; every double below it converts safely.
  constexpr double kLimit = 9223372036854775808.0;
  VOXGRAD_CHECK(
      std::isfinite(v) && v > -kLimit - 1.0 && v < kLimit, op, ": ", what, " ",
      v, " is not a finite value in the range of int64 (|value| < 2^63)");
  return static_cast<int64_t>(v);
}

}  // namespace voxgrad::checked
