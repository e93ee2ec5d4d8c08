// Checkpoint files: reading with the loader's precautions, and the atomic
// write that leaves either the old or the new checkpoint after a crash.

#include "voxgrad/nn/checkpoint_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <new>
#include <system_error>

#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad {

namespace {

/// save() writes in chunks of this size (and calls the test hook after each).
constexpr size_t kChunk = size_t{64} << 10;

detail::CheckpointWriteHook g_write_hook = nullptr;

std::string errno_text(int e) {
  return std::system_category().message(e);
}

}  // namespace

namespace checkpoint_detail {

bool is_cbor_path(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension().string();
  std::string lower;
  for (char c : ext)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == ".cbor";
}

std::vector<uint8_t> read_file(
    const std::string& path,
    uint64_t max_bytes,
    const std::string& limit_reason) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  VOXGRAD_CHECK(
      fd >= 0, "load(", quote(path), "): cannot open: ", errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() {
      ::close(fd);
    }
  } closer{fd};
  struct stat st {};
  VOXGRAD_CHECK(
      ::fstat(fd, &st) == 0, "load(", quote(path),
      "): cannot stat: ", errno_text(errno));
  VOXGRAD_CHECK(
      S_ISREG(st.st_mode), "load(", quote(path),
      "): not a regular file (a checkpoint is a file saved by voxgrad::save)");
  const auto size = static_cast<uint64_t>(st.st_size);
  VOXGRAD_CHECK(
      size <= max_bytes, "load(", quote(path), "): the file has ", size,
      " bytes, more than ", max_bytes, " (", limit_reason,
      "); nothing was read or changed");
  std::vector<uint8_t> buf;
  try {
    buf.resize(static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    VOXGRAD_FAIL(
        "load(", quote(path), "): out of memory reading its ", size,
        " bytes; nothing was changed");
  }
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    VOXGRAD_CHECK(
        n >= 0, "load(", quote(path), "): read failed after ", got,
        " bytes: ", errno_text(errno));
    if (n == 0)
      break;  // the file shrank meanwhile: parse what is there
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

void write_atomically(const std::string& path, std::span<const uint8_t> data) {
  AtomicFile f(path, "save");
  size_t done = 0;
  while (done < data.size()) {
    const size_t chunk = std::min(kChunk, data.size() - done);
    f.write(data.subspan(done, chunk));
    done += chunk;
    if (g_write_hook)
      g_write_hook(f.temp_path(), done, data.size());
  }
  f.commit();
}

}  // namespace checkpoint_detail

namespace detail {

void set_checkpoint_write_hook(CheckpointWriteHook hook) {
  g_write_hook = hook;
}

}  // namespace detail
}  // namespace voxgrad
