#pragma once
// Thread control and the one parallel loop every kernel uses. TBB stays out
// of public headers: the loop body is passed through a plain function pointer.
//
// Determinism rule for every caller: partition the *output* so each element is
// computed entirely inside one body call, in an order that does not depend on
// the chunk bounds. Then results are bit-identical for any thread count.

#include <cstdint>
#include <utility>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// Threads voxgrad's kernels may use (default: every core TBB sees).
int num_threads();

/// Limits all later kernel calls to n threads, like torch.set_num_threads.
/// ```cpp
/// voxgrad::set_num_threads(1);
/// ```
void set_num_threads(int n);

namespace detail {
using RangeBody = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_for_impl(
    int64_t begin, int64_t end, int64_t grain, RangeBody body, void* ctx);
}  // namespace detail

/// Calls f(b, e) on disjoint subranges covering [begin, end), in parallel
/// when the range is longer than `grain`. Exceptions propagate to the caller.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  if (end <= begin)
    return;
  if (end - begin <= grain) {
    f(begin, end);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::parallel_for_impl(
      begin, end, grain,
      [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
