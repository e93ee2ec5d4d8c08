#pragma once
// Overflow-checked products of sizes read from files and options (grid
// extents, voxel counts, byte counts). A wrapped size is silent garbage (a
// tiny buffer for a huge grid), so every size that comes from a user or a
// file is multiplied here.
//
// NOTE: voxgrad/core/checked.hpp (issue 10) is the library-wide form of
// this; once it is on main, these calls become checked::mul.

#include <cstdint>

#include "voxgrad/core/error.hpp"

namespace voxgrad::data::detail {

/// a * b for a, b >= 0; throws naming `what` when the product passes `limit`.
inline int64_t mul_size(
    int64_t a, int64_t b, const char* what, int64_t limit = INT64_MAX) {
  int64_t r = 0;
  VOXGRAD_CHECK(
      a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, &r) && r <= limit, what,
      " (", a, " * ", b, ") must be at most ", limit);
  return r;
}

/// d * h * w voxels, each extent in [1, max_extent], at most `limit` in all.
inline int64_t voxel_count(
    int64_t d,
    int64_t h,
    int64_t w,
    const char* what,
    int64_t max_extent,
    int64_t limit) {
  VOXGRAD_CHECK(
      d >= 1 && h >= 1 && w >= 1 && d <= max_extent && h <= max_extent &&
          w <= max_extent,
      what, ": each extent must be in [1, ", max_extent, "] (got [", d, ", ", h,
      ", ", w, "])");
  return mul_size(mul_size(d, h, what, limit), w, what, limit);
}

}  // namespace voxgrad::data::detail
