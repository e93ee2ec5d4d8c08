#pragma once
// What voxgrad-bench's --layer and --model modes (bench/layer_bench.cpp,
// bench/model_bench.cpp) share, so that both time and parse alike: the flag
// voxgrad_bench.cpp hands over on, integer flag values, the thread count and
// error report around a run, and the loop of R timed calls whose median and
// minimum they print.

#include <functional>
#include <string>

namespace voxgrad::bench {

/// True when `flag` (e.g. "--layer") is one of the arguments.
bool has_flag(int argc, char** argv, const char* flag);

/// Sets the thread count (`threads` 0: voxgrad's default, every core) and
/// runs `body` with the count in use; an exception becomes
/// "voxgrad-bench: error: <what>" on stderr and exit status 1. Returns the
/// exit status.
int run_bench(int threads, const std::function<void(int threads)>& body);

/// Wall-clock milliseconds (steady_clock); only differences mean anything.
double now_ms();

/// `v` as an integer in [min, 1000000], or `usage` (which prints and exits,
/// never returning) is called with `FLAG needs an integer >= MIN (got "V")`.
int int_flag(
    const std::string& flag,
    const std::string& v,
    int min,
    void (*usage)(const std::string& msg));

struct RepTimes {
  double median_ms = 0;  // t[R / 2] of the sorted times (R even: the upper)
  double min_ms = 0;
};

/// Calls `fn` `reps` (>= 1) times, timing each call on its own. Warm-up calls
/// are the caller's, so that it can measure between them and the timed ones
/// (model_bench's resident-set baseline).
RepTimes time_reps(const std::function<void()>& fn, int reps);

}  // namespace voxgrad::bench
