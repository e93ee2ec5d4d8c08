#pragma once
// Internal to the checkpoint code (installed with the headers, not API):
// parsing a checkpoint's bytes, JSON or CBOR, into a DOM under the loader's
// limits for hostile files.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

namespace voxgrad::checkpoint_detail {

/// Nesting depth the parser accepts (the root object is level 1).
inline constexpr size_t kMaxDepth = 64;
/// JSON values (objects, arrays and scalars; not keys) the parser accepts.
inline constexpr size_t kMaxValues = size_t{1} << 22;

/// The document in `bytes` (CBOR when `cbor`, else JSON text). Throws a
/// voxgrad::Error naming `name` and, where known, the byte offset, for
/// anything that does not parse or breaks a limit (see LimitedDomBuilder in
/// checkpoint_parse.cpp).
nlohmann::json parse_document(
    std::span<const uint8_t> bytes, bool cbor, std::string_view name);

}  // namespace voxgrad::checkpoint_detail
