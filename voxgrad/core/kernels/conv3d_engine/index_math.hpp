#pragma once
// Integer helpers of the conv planner and executors: the one ceil division
// (checked), floor division, rounding up, min / max / clamp.
//
// Internal linkage (an anonymous namespace): the executors are compiled once
// per instruction set, and an inline function with external linkage could be
// merged across those copies, handing AVX-512 code to a baseline caller.

#include <cstdint>

#include "voxgrad/core/error.hpp"

namespace voxgrad::kernels::detail {
namespace {

inline int64_t imin(int64_t a, int64_t b) {
  return a < b ? a : b;
}
inline int64_t imax(int64_t a, int64_t b) {
  return a > b ? a : b;
}
inline int64_t iclamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/// ceil(a / b) for any a and b > 0, without the overflow of (a + b - 1) / b
/// near INT64_MAX (C++ division truncates, which is the ceiling for a < 0).
inline int64_t ceil_div(int64_t a, int64_t b) {
  VOXGRAD_ASSERT(b > 0);
  return a / b + (a % b > 0 ? 1 : 0);
}

/// floor(a / b) for any a and b > 0.
inline int64_t floor_div(int64_t a, int64_t b) {
  VOXGRAD_ASSERT(b > 0);
  return a / b - (a % b < 0 ? 1 : 0);
}

/// The smallest multiple of b >= a (a >= 0, b > 0).
inline int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

}  // namespace
}  // namespace voxgrad::kernels::detail
