#pragma once
// Whole-file reads and atomic writes for the data readers and the cache.

#include <cstdint>
#include <string>

namespace voxgrad::data::detail {

/// The file's bytes; throws voxgrad::Error naming the path when it is not a
/// readable regular file or holds more than `max_bytes`.
std::string read_bytes(const std::string& path, int64_t max_bytes);

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path`, so a reader never sees half a file (and two writers of the same
/// content never corrupt it).
void write_bytes_atomic(const std::string& path, const std::string& bytes);

}  // namespace voxgrad::data::detail
