// Messages of the checkpoint loader: input quoted so that a hostile file
// cannot put control bytes into an error message.

#include "voxgrad/nn/checkpoint_problems.hpp"

#include <exception>

namespace voxgrad {
namespace {
using json = nlohmann::json;
}  // namespace

namespace checkpoint_detail {

std::string printable(std::string_view s, size_t max) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > max)
    out += "...";
  return out;
}

std::string quote(std::string_view s) {
  // Appended piece by piece: compiled on its own, "'" + std::string&& trips
  // g++ 12's false -Wrestrict (an "overlapping" memcpy of 2^63 bytes) at -O3.
  std::string out = "'";
  out += printable(s, 80);
  out += '\'';
  return out;
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
