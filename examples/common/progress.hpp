#pragma once
// Timing and the human-readable parts of progress lines: a monotonic
// stopwatch, durations ("3m05s"), rates ("1.25M") and an ETA from the pace
// of the steps this process has run (a resumed run does not count the
// steps it loaded).

#include <chrono>
#include <cstdint>
#include <string>

namespace voxgrad::examples {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }
  void reset() {
    start_ = std::chrono::steady_clock::now();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// "850ms", "12.3s", "3m05s", "1h02m".
std::string human_duration(double seconds);
/// "950", "12.3k", "1.25M", "3.1G".
std::string human_count(double n);

/// Remaining time to `total` steps at the average pace since `first`.
class Eta {
 public:
  Eta(int64_t first_step, int64_t total_steps)
      : first_(first_step), total_(total_steps) {}
  /// `step` steps are done, `elapsed` seconds after first_step.
  std::string at(int64_t step, double elapsed) const;

 private:
  int64_t first_, total_;
};

}  // namespace voxgrad::examples
