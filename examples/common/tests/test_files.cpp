// The examples' outputs (PNG through stb's callback, text through
// voxgrad::write_file_atomic) on a full disk and in a read-only folder, made
// real in a child process: the previous file survives byte for byte, no
// temporary file is left, and the error names the file and errno's text.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "files.hpp"
#include "image.hpp"
#include "voxgrad/core/error.hpp"

using namespace voxgrad::examples;
namespace fs = std::filesystem;

namespace {

/// Runs `body` in a child limited to `fsize_limit` bytes per file (SIGXFSZ
/// ignored, so writes fail with EFBIG as a full disk fails with ENOSPC), or
/// as an unprivileged user when `unprivileged`; returns the voxgrad::Error
/// message ("" if none, "crash" if it died otherwise).
std::string in_child(
    const std::function<void()>& body,
    long fsize_limit,
    bool unprivileged = false) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (fsize_limit >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit lim{
          static_cast<rlim_t>(fsize_limit), static_cast<rlim_t>(fsize_limit)};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    if (unprivileged && ::geteuid() == 0 &&
        (::setgid(65534) != 0 || ::setuid(65534) != 0))
      ::_exit(3);
    std::string msg;
    try {
      body();
    } catch (const voxgrad::Error& e) {
      msg = e.what();
    } catch (...) {
      ::_exit(2);
    }
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    msg.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "crash";
  return msg;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() /
           ("voxgrad_examples_files_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() {
    ::chmod(path.c_str(), 0755);
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("PNG and text outputs on a full disk keep the previous file") {
  Dir dir;
  const std::string png = (dir.path / "p.png").string();
  const std::string csv = (dir.path / "log.csv").string();
  Image small(8, 8, kBlack), big(300, 300);
  for (int y = 0; y < 300; ++y)  // noise, so the PNG does not compress away
    for (int x = 0; x < 300; ++x)
      big.set(
          x, y,
          {static_cast<uint8_t>(x * 7 + y * 13), static_cast<uint8_t>(x * y),
           static_cast<uint8_t>(y)});
  write_png(png, small);
  write_file_atomic(csv, std::string("step,loss\n1,2\n"));
  const std::string png_before = read_file(png), csv_before = read_file(csv);
  for (long limit : {0L, 100L, 4096L}) {
    CAPTURE(limit);
    const std::string m1 = in_child([&] { write_png(png, big); }, limit);
    CHECK(has(m1, "write_png: cannot write '" + png + "'"));
    CHECK(has(m1, "File too large"));
    const std::string m2 = in_child(
        [&] { write_file_atomic(csv, std::string(100000, 'x')); }, limit);
    CHECK(has(m2, "cannot write '" + csv + "'"));
    CHECK(has(m2, "File too large"));
    CHECK(read_file(png) == png_before);
    CHECK(read_file(csv) == csv_before);
    CHECK(entries(dir.path) == std::vector<std::string>{"log.csv", "p.png"});
  }
  // With room, the new picture replaces the old one whole.
  CHECK(in_child([&] { write_png(png, big); }, 1L << 30) == "");
  CHECK(read_file(png).size() > png_before.size());
  CHECK(read_file(png).substr(1, 3) == "PNG");
}

TEST_CASE("a read-only output folder is refused before anything is written") {
  Dir dir;
  const fs::path out = dir.path / "out";
  make_dirs(out.string());
  write_png((out / "p.png").string(), Image(4, 4));
  ::chmod(out.c_str(), ::geteuid() == 0 ? 0755 : 0555);
  const std::string m =
      in_child([&] { make_dirs(out.string()); }, -1, /*unprivileged=*/true);
  CHECK(has(m, "output folder: cannot write '" + out.string()));
  CHECK(has(m, "Permission denied"));
  const std::string m2 = in_child(
      [&] { write_png((out / "p.png").string(), Image(9, 9)); }, -1, true);
  CHECK(has(m2, "write_png: cannot write"));
  CHECK(has(m2, "Permission denied"));
  CHECK(entries(out) == std::vector<std::string>{"p.png"});
  // A file where the folder should be.
  write_file_atomic((dir.path / "file").string(), std::string("x"));
  CHECK_THROWS_WITH(
      make_dirs((dir.path / "file").string()),
      doctest::Contains("cannot create folder"));
  CHECK_THROWS_WITH(
      write_png((dir.path / "file/p.png").string(), Image(2, 2)),
      doctest::Contains("Not a directory"));
}
