#pragma once
// UTF-8 validity, as Python's and nlohmann's strict decoders see it: what a
// .npy 3.0 header and every checkpoint string must be.

#include <cstddef>
#include <string_view>
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// The offset of the first byte of `s` that is not part of valid UTF-8 (an
/// overlong form, a surrogate, a code point past U+10FFFF, a bad or missing
/// continuation byte), or s.size() when all of `s` is valid.
/// ```cpp
/// size_t ok = utf8_error_offset("ok");       // 2, the size: all valid
/// size_t bad = utf8_error_offset("a\xffz");  // 1: 0xff is never UTF-8
/// ```
size_t utf8_error_offset(std::string_view s);

inline bool valid_utf8(std::string_view s) {
  return utf8_error_offset(s) == s.size();
}

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
