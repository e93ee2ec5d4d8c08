// Messages of the checkpoint loader: input quoted so that a hostile file
// cannot put control bytes into an error message.

#include "voxgrad/nn/checkpoint_problems.hpp"

#include <exception>

namespace voxgrad {
namespace {
using json = nlohmann::json;
}  // namespace

namespace checkpoint_detail {

std::string quote_key(std::string_view s) {
  return voxgrad::quote(s, 80);
}

std::string brief(const json& j) {
  std::string s;
  try {
    s = j.dump(-1, ' ', true, json::error_handler_t::replace);
  } catch (const std::exception&) {
    s = j.type_name();
  }
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

}  // namespace checkpoint_detail
}  // namespace voxgrad
