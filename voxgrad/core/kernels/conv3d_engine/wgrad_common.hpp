#pragma once
// What the two weight-gradient executors (wgrad_lanes.hpp,
// wgrad_channels.hpp) share: the sum of the ordered partial results of a
// split reduction. Internal linkage: compiled once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/pack.hpp"
#include "voxgrad/core/kernels/conv3d_engine/scratch.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

/// dst[i] = the R partial results src[r*n + i] added in order of r.
template <class T>
void sum_partials(T* dst, const T* src, int64_t R, int64_t n) {
  parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T s = src[i];
      for (int64_t r = 1; r < R; ++r)
        s += src[r * n + i];
      dst[i] = s;
    }
  });
}

/// The (sample, plane) reduction steps [r0, r1) of part r of R.
inline void part_range(
    int64_t red, int64_t r, int64_t R, int64_t& r0, int64_t& r1) {
  r0 = red * r / R;
  r1 = red * (r + 1) / R;
}

}  // namespace
}  // namespace voxgrad::kernels::detail
