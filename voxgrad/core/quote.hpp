#pragma once
// Untrusted text (file names, keys and values read from files) shown in an
// error message: control and non-ASCII bytes become \xNN, so a hostile file
// cannot put escape sequences or newlines into a terminal or a log, and a
// message never ends in half a UTF-8 character.

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// `s` with bytes outside printable ASCII (and '\') as \xNN; cut at `max`
/// input bytes with "..." appended when longer.
/// ```cpp
/// std::string shown = printable("a\nb");  // "a\\x0ab"
/// ```
std::string printable(
    std::string_view s, size_t max = std::numeric_limits<size_t>::max());

/// printable(s, max) in single quotes. Paths are quoted whole (the default
/// `max`), so a message never loses the file name at the end of a path.
/// ```cpp
/// std::string quoted = quote("run/ckpt.json");  // "'run/ckpt.json'"
/// ```
std::string quote(
    std::string_view s, size_t max = std::numeric_limits<size_t>::max());

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
