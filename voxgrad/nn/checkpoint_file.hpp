#pragma once
// Internal to the checkpoint code (installed with the headers, not API):
// reading a checkpoint file defensively and writing one atomically.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace voxgrad::checkpoint_detail {

/// True when `path` ends in ".cbor" (any case): such files hold CBOR.
bool is_cbor_path(const std::string& path);

/// The bytes of the regular file at `path`; anything else (a folder, a FIFO,
/// a device) is refused without blocking.
std::vector<uint8_t> read_file(const std::string& path);

/// Replaces `path` with `data`: a temp file in the same folder, fsync, rename
/// over the target, fsync of the folder (see NOTE [ Checkpoint format,
/// version 1 ] in voxgrad/nn/checkpoint.hpp). Calls the write hook after each
/// chunk.
void write_atomically(const std::string& path, std::span<const uint8_t> data);

}  // namespace voxgrad::checkpoint_detail
