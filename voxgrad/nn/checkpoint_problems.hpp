#pragma once
// Internal to the checkpoint code (installed with the headers, not API):
// how load() quotes what it read in messages and collects every problem, so
// that one voxgrad::Error lists them all.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"

namespace voxgrad::checkpoint_detail {

/// Problems listed in one message; the rest are counted.
inline constexpr size_t kMaxListed = 40;

/// A name or key read from a file, quoted for a message and cut at 80
/// bytes (paths are quoted whole, with voxgrad::quote).
std::string quote_key(std::string_view s);

/// A JSON value shortened for a message.
std::string brief(const nlohmann::json& j);

/// Collected problems; keeps the first kMaxListed, counts the rest.
class Problems {
 public:
  void add(std::string p) {
    ++count_;
    if (list_.size() < kMaxListed)
      list_.push_back(std::move(p));
  }
  bool empty() const {
    return count_ == 0;
  }
  [[noreturn]] void raise(std::string_view name) const {
    std::string msg = "load(" + voxgrad::quote(name) +
                      "): " + std::to_string(count_) +
                      " problem(s), nothing was changed:";
    for (const auto& p : list_)
      msg += "\n  " + p;
    if (count_ > list_.size())
      msg += "\n  ... and " + std::to_string(count_ - list_.size()) + " more";
    VOXGRAD_FAIL(msg);
  }

 private:
  std::vector<std::string> list_;
  size_t count_ = 0;
};

}  // namespace voxgrad::checkpoint_detail
