#pragma once
// Overflow-checked size arithmetic: the one place where extents, element
// counts, strides, byte counts, geometry and doubles that become sizes are
// combined. Every function throws a voxgrad::Error naming the op, the values
// and the limit instead of wrapping (signed overflow is UB in C++, and a
// wrapped size is silent garbage: a 0-byte buffer for 2^62 elements, a
// reshape that "fits", a hang in a loop bound). Use these, never a bare `*`
// or `+`, wherever an operand comes from a user, a file or a shape.
//
// ```cpp
// int64_t n = checked::mul(a, b, "reshape", "element count");
// int64_t k = checked::to_int64(std::ceil(x), "arange", "length");
// ```

#include <cstddef>
#include <cstdint>
#include <limits>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/shape.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::checked {

inline constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

/// The most bytes one tensor may hold: ptrdiff_t must reach every byte, and
/// the allocator rounds sizes up to 2 MiB.
inline constexpr uint64_t kMaxBytes = (uint64_t{1} << 62);

/// a * b; throws naming `op` and `what` when it does not fit in int64.
inline int64_t mul(int64_t a, int64_t b, const char* op, const char* what) {
  int64_t r;
  VOXGRAD_CHECK(
      !__builtin_mul_overflow(a, b, &r), op, ": ", what, " overflows int64 (",
      a, " * ", b, " > ", kMax, ")");
  return r;
}

/// a + b; throws naming `op` and `what` when it does not fit in int64.
inline int64_t add(int64_t a, int64_t b, const char* op, const char* what) {
  int64_t r;
  VOXGRAD_CHECK(
      !__builtin_add_overflow(a, b, &r), op, ": ", what, " overflows int64 (",
      a, " + ", b, " is outside [", std::numeric_limits<int64_t>::min(), ", ",
      kMax, "])");
  return r;
}

/// a - b; throws naming `op` and `what` when it does not fit in int64.
inline int64_t sub(int64_t a, int64_t b, const char* op, const char* what) {
  int64_t r;
  VOXGRAD_CHECK(
      !__builtin_sub_overflow(a, b, &r), op, ": ", what, " overflows int64 (",
      a, " - ", b, " is outside [", std::numeric_limits<int64_t>::min(), ", ",
      kMax, "])");
  return r;
}

/// ceil(a / b) for a >= 0, b > 0, without the overflow of (a + b - 1) / b.
inline int64_t ceil_div(int64_t a, int64_t b) {
  VOXGRAD_ASSERT(a >= 0 && b > 0);
  return a / b + (a % b != 0 ? 1 : 0);
}

/// Product of the extents; throws if an extent is negative or the product
/// overflows int64. The element count of every shape goes through here.
int64_t numel(const Shape& shape, const char* op);

/// numel * itemsize as a byte count; throws past kMaxBytes.
size_t nbytes(int64_t numel, size_t itemsize, const char* op);

/// A finite double that is an exact or truncated int64 (std::trunc(v)) in
/// range; throws naming `op` and `what` for NaN, inf or out of range
/// (converting those with static_cast is UB).
int64_t to_int64(double v, const char* op, const char* what);

}  // namespace voxgrad::checked

VOXGRAD_PUBLIC_END
