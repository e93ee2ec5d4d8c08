#include "progress.hpp"

#include <cmath>
#include <cstdio>

namespace voxgrad::examples {

std::string human_duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0)
    return "?";
  if (s < 1)
    std::snprintf(buf, sizeof buf, "%.0fms", s * 1000);
  else if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(
        buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60,
        static_cast<int>(s) % 60);
  else
    std::snprintf(
        buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
        static_cast<int>(s) % 3600 / 60);
  return buf;
}

std::string human_count(double n) {
  char buf[32];
  const char* units[] = {"", "k", "M", "G", "T"};
  int u = 0;
  while (std::abs(n) >= 1000 && u < 4) {
    n /= 1000;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", n, units[u]);
  return buf;
}

std::string Eta::at(int64_t step, double elapsed) const {
  const int64_t done = step - first_;
  if (done <= 0)
    return "?";
  return human_duration(
      elapsed / static_cast<double>(done) * static_cast<double>(total_ - step));
}

}  // namespace voxgrad::examples
