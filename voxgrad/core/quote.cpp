#include "voxgrad/core/quote.hpp"

namespace voxgrad {

std::string printable(std::string_view s, size_t max) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() < max ? s.size() : max);
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

std::string quote(std::string_view s, size_t max) {
  // Appended piece by piece: compiled on its own, "'" + std::string&& trips
  // g++ 12's false -Wrestrict (an "overlapping" memcpy of 2^63 bytes) at -O3.
  std::string out = "'";
  out += printable(s, max);
  out += '\'';
  return out;
}

}  // namespace voxgrad
