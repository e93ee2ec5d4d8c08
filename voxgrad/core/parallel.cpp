#include "voxgrad/core/parallel.hpp"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <memory>
#include <mutex>

#include "voxgrad/core/error.hpp"

namespace voxgrad {
namespace {
std::mutex g_control_mutex;
std::unique_ptr<tbb::global_control> g_control;
}  // namespace

int num_threads() {
  return static_cast<int>(tbb::global_control::active_value(
      tbb::global_control::max_allowed_parallelism));
}

void set_num_threads(int n) {
  VOXGRAD_CHECK(n >= 1, "set_num_threads: n must be >= 1 (got ", n, ")");
  std::lock_guard<std::mutex> lock(g_control_mutex);
  g_control.reset();
  g_control = std::make_unique<tbb::global_control>(
      tbb::global_control::max_allowed_parallelism, static_cast<size_t>(n));
}

namespace detail {
void parallel_for_impl(
    int64_t begin, int64_t end, int64_t grain, RangeBody body, void* ctx) {
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(begin, end, static_cast<size_t>(grain)),
      [&](const tbb::blocked_range<int64_t>& r) {
        body(ctx, r.begin(), r.end());
      });
}
}  // namespace detail
}  // namespace voxgrad
