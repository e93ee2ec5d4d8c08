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
/// a device) is refused without blocking, and so is a file of more than
/// `max_bytes` bytes, before anything is allocated. `limit_reason` explains
/// the limit in that message.
std::vector<uint8_t> read_file(
    const std::string& path,
    uint64_t max_bytes,
    const std::string& limit_reason);

/// Replaces `path` with `data` through voxgrad::AtomicFile (NOTE [ Atomic
/// file writes ] in voxgrad/core/atomic_file.hpp), calling the test write
/// hook after each chunk.
void write_atomically(const std::string& path, std::span<const uint8_t> data);

}  // namespace voxgrad::checkpoint_detail
