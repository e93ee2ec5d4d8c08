// Checkpoint files: reading with the loader's precautions, and the atomic
// write that leaves either the old or the new checkpoint after a crash.

#include "voxgrad/nn/checkpoint_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/nn/checkpoint_problems.hpp"

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

std::vector<uint8_t> read_file(const std::string& path) {
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
  std::vector<uint8_t> buf(static_cast<size_t>(st.st_size));
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
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string base = target.filename().string();
  VOXGRAD_CHECK(
      !base.empty() && base != "." && base != "..", "save(", quote(path),
      "): the path names a folder, not a file");
  const fs::path dir =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 1000 && fd < 0; ++attempt) {
    tmp = (dir / ("." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++)))
              .string();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    VOXGRAD_CHECK(
        fd >= 0 || errno == EEXIST, "save(", quote(path),
        "): cannot create a temp file in ", quote(dir.string()), ": ",
        errno_text(errno));
  }
  VOXGRAD_CHECK(
      fd >= 0, "save(", quote(path), "): no free temp file name in the folder");
  const auto fail = [&](const char* what) {
    const int e = errno;
    if (fd >= 0)
      ::close(fd);
    ::unlink(tmp.c_str());
    VOXGRAD_FAIL(
        "save(", quote(path), "): ", what, " ", quote(tmp), ": ", errno_text(e),
        "; the previous checkpoint is unchanged");
  };
  size_t done = 0;
  while (done < data.size()) {
    const size_t chunk = std::min(kChunk, data.size() - done);
    size_t sent = 0;
    while (sent < chunk) {
      const ssize_t n = ::write(fd, data.data() + done + sent, chunk - sent);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        fail("cannot write");
      sent += static_cast<size_t>(n);
    }
    done += chunk;
    if (g_write_hook)
      g_write_hook(tmp, done, data.size());
  }
  if (::fsync(fd) != 0)
    fail("cannot fsync");
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0)
    fail("cannot close");
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail("cannot rename over the target");
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int r = ::fsync(dfd);
    const int e = errno;
    ::close(dfd);
    VOXGRAD_CHECK(
        r == 0 || e == EINVAL || e == EROFS, "save(", quote(path),
        "): written, but cannot fsync the folder: ", errno_text(e));
  }
}

}  // namespace checkpoint_detail

namespace detail {

void set_checkpoint_write_hook(CheckpointWriteHook hook) {
  g_write_hook = hook;
}

}  // namespace detail
}  // namespace voxgrad
