#include "bench_timing.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "voxgrad/core/parallel.hpp"

namespace voxgrad::bench {

bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == flag)
      return true;
  return false;
}

int run_bench(int threads, const std::function<void(int threads)>& body) {
  try {
    if (threads > 0)
      set_num_threads(threads);
    body(num_threads());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "voxgrad-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int int_flag(
    const std::string& flag,
    const std::string& v,
    int min,
    void (*usage)(const std::string& msg)) {
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < min || n > 1000000)
    usage(
        flag + " needs an integer >= " + std::to_string(min) + " (got \"" + v +
        "\")");
  return static_cast<int>(n);
}

RepTimes time_reps(const std::function<void()>& fn, int reps) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const double t0 = now_ms();
    fn();
    t.push_back(now_ms() - t0);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

}  // namespace voxgrad::bench
