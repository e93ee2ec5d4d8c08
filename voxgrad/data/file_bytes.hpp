#pragma once
// Whole-file reads for the data readers (writes go through
// voxgrad::write_file_atomic, voxgrad/core/atomic_file.hpp).

#include <cstdint>
#include <string>

namespace voxgrad::data::detail {

/// The file's bytes; throws voxgrad::Error naming the path when it is not a
/// readable regular file or holds more than `max_bytes`.
std::string read_bytes(const std::string& path, int64_t max_bytes);

}  // namespace voxgrad::data::detail
