#pragma once
// Every file voxgrad and its examples write goes through here, so that a
// crash, a full disk or a missing permission leaves either the previous file
// or the new one, never half of one, and never a stray temporary file.
//
// NOTE [ Atomic file writes ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// 1. A temporary file is created beside the target, in the same folder (a
//    rename is atomic only within one file system), with a short unique name
//    ".<up to 40 bytes of the target's name>.tmp-<pid>-<n>", so a 255-byte
//    file name still leaves room for it, and O_EXCL so two writers never
//    share one. Its mode is 0666 minus the umask, as for any new file.
// 2. Every write(2) is checked (short writes continued, EINTR retried); the
//    first failure (ENOSPC, EFBIG past RLIMIT_FSIZE, EIO, ...) throws
//    voxgrad::Error naming the target, the error text and how many bytes had
//    been written.
// 3. fsync(2), close(2) (both checked: NFS reports write errors at close),
//    then rename(2) over the target, then fsync of the folder so the rename
//    itself survives a power cut.
// 4. On every failure before the rename the temporary file is closed and
//    removed, and the message says the previous file is unchanged.
//
// AtomicFile streams (PNG encoders, .npy headers then data); write_file_atomic
// writes a buffer in one call.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// A file being written beside `path`, replacing `path` only on commit().
/// ```cpp
/// AtomicFile f("out/a.npy", "save_npy");
/// f.write(header);
/// f.write(data);
/// f.commit();
/// ```
/// Destroyed without commit() (an exception, an early return), it removes
/// its temporary file and leaves `path` as it was.
class AtomicFile {
 public:
  /// Creates the temporary file; `who` starts every message ("save_npy").
  /// Throws voxgrad::Error naming the folder and errno's text when it cannot
  /// (missing folder, a file where a folder should be, no permission).
  AtomicFile(std::string path, std::string who);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `bytes`; throws voxgrad::Error (with errno's text) on failure,
  /// after removing the temporary file.
  void write(std::span<const uint8_t> bytes);
  void write(std::string_view text);
  /// fsync, close, rename over the target, fsync of the folder.
  void commit();

  const std::string& path() const {
    return path_;
  }
  const std::string& temp_path() const {
    return temp_;
  }
  uint64_t bytes_written() const {
    return written_;
  }

 private:
  /// Closes and removes the temporary file, then throws naming `what`.
  [[noreturn]] void fail(const char* what, int err);
  void discard() noexcept;

  std::string path_, who_, dir_, temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

/// Replaces `path` with `bytes` atomically (see NOTE [ Atomic file writes ]).
/// ```cpp
/// voxgrad::write_file_atomic("out/log.csv", text, "train_log");
/// ```
void write_file_atomic(
    const std::string& path,
    std::span<const uint8_t> bytes,
    std::string_view who = "write_file_atomic");
void write_file_atomic(
    const std::string& path,
    std::string_view text,
    std::string_view who = "write_file_atomic");

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
