// Atomic file replacement; see NOTE [ Atomic file writes ] in
// voxgrad/core/atomic_file.hpp.

#include "voxgrad/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"

namespace voxgrad {

namespace {

std::string errno_text(int e) {
  return std::system_category().message(e);
}

/// At most `max` bytes of `name`, not cutting a UTF-8 sequence in two.
std::string utf8_prefix(const std::string& name, size_t max) {
  if (name.size() <= max)
    return name;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80)
    --n;  // name[n] continues a sequence: cut before its lead byte
  return name.substr(0, n);
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string who)
    : path_(std::move(path)), who_(std::move(who)) {
  namespace fs = std::filesystem;
  const fs::path target(path_);
  const std::string base = target.filename().string();
  VOXGRAD_CHECK(
      !path_.empty() && !base.empty() && base != "." && base != "..", who_,
      ": cannot write ", quote(path_), ": the path names a folder, not a file");
  dir_ = target.has_parent_path() ? target.parent_path().string() : ".";
  // pid + a process-wide counter make the name unique among this host's
  // writers; O_EXCL settles any collision (another host on a shared folder).
  static std::atomic<uint64_t> counter{0};
  // Appended piece by piece: "." + std::string&& trips g++ 12's false
  // -Wrestrict at -O3.
  std::string stem = ".";
  stem += utf8_prefix(base, 40);
  stem += ".tmp-";
  stem += std::to_string(::getpid());
  stem += '-';
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    temp_ = (fs::path(dir_) / (stem + std::to_string(counter++))).string();
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    const int e = errno;
    VOXGRAD_CHECK(
        fd_ >= 0 || e == EEXIST || e == EINTR, who_, ": cannot write ",
        quote(path_), ": cannot create a temporary file in the folder ",
        quote(dir_), ": ", errno_text(e));
  }
  VOXGRAD_CHECK(
      fd_ >= 0, who_, ": cannot write ", quote(path_),
      ": no free temporary file name in ", quote(dir_));
}

AtomicFile::~AtomicFile() {
  if (!committed_)
    discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  if (!temp_.empty())
    ::unlink(temp_.c_str());
  temp_.clear();
}

void AtomicFile::fail(const char* what, int err) {
  const std::string temp = temp_;
  discard();
  VOXGRAD_FAIL(
      who_, ": cannot write ", quote(path_), ": ", what, " failed after ",
      written_, " bytes: ", errno_text(err),
      "; the previous file (if any) is unchanged and the temporary file ",
      quote(temp), " was removed");
}

void AtomicFile::write(std::span<const uint8_t> bytes) {
  VOXGRAD_CHECK(
      fd_ >= 0 && !committed_, who_, ": write to ", quote(path_),
      " after commit() or a failure");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail("write", errno);
    if (n == 0)
      fail("write", EIO);  // no progress and no error: treat as an I/O error
    done += static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::write(std::string_view text) {
  write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

void AtomicFile::commit() {
  VOXGRAD_CHECK(
      fd_ >= 0 && !committed_, who_, ": commit of ", quote(path_),
      " after commit() or a failure");
  if (::fsync(fd_) != 0)
    fail("fsync", errno);
  const int closed = ::close(fd_);
  const int close_errno = errno;
  fd_ = -1;
  if (closed != 0 && close_errno != EINTR)
    fail("close", close_errno);
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    fail("rename over the target", errno);
  committed_ = true;
  temp_.clear();
  // Make the rename itself durable. Some file systems cannot fsync a folder
  // (EINVAL) or are read-only for it (EROFS); the data are in place anyway.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int r = ::fsync(dfd);
    const int e = errno;
    ::close(dfd);
    VOXGRAD_CHECK(
        r == 0 || e == EINVAL || e == EROFS, who_, ": wrote ", quote(path_),
        ", but cannot fsync its folder: ", errno_text(e),
        " (the new file may not survive a power cut)");
  }
}

void write_file_atomic(
    const std::string& path,
    std::span<const uint8_t> bytes,
    std::string_view who) {
  AtomicFile f(path, std::string(who));
  f.write(bytes);
  f.commit();
}

void write_file_atomic(
    const std::string& path, std::string_view text, std::string_view who) {
  write_file_atomic(
      path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, who);
}

}  // namespace voxgrad
