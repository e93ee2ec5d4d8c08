#pragma once
// Small helpers shared by the tests.

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <voxgrad/voxgrad.hpp>

namespace voxgrad::test {

/// Max |a - b| over all elements (shapes must match).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double d = std::abs(va[i] - vb[i]);
    if (std::isnan(d))
      return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

/// Element-wise |got - want| <= atol + rtol * |want|.
inline bool allclose(
    const Tensor& got,
    const Tensor& want,
    double atol = 1e-6,
    double rtol = 1e-5) {
  if (got.shape() != want.shape())
    return false;
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i])))
      return false;
  return true;
}

/// Bitwise equality of two tensors' elements.
inline bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(
             ca.raw_data(), cb.raw_data(),
             static_cast<size_t>(ca.numel()) * itemsize(ca.dtype())) == 0;
}

/// The message of the voxgrad::Error `f` throws ("" if it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const voxgrad::Error& e) {
    return e.what();
  }
  return "";
}

/// Checks that `f` throws voxgrad::Error whose message contains every part.
#define CHECK_ERROR_CONTAINS(expr, ...)                                        \
  do {                                                                         \
    const std::string msg_ = ::voxgrad::test::error_of([&] { (void)(expr); }); \
    CHECK_MESSAGE(!msg_.empty(), "expected voxgrad::Error from " #expr);       \
    for (const char* part_ : {__VA_ARGS__})                                    \
      CHECK_MESSAGE(                                                           \
          msg_.find(part_) != std::string::npos,                               \
          "message '" << msg_ << "' lacks '" << part_ << "'");                 \
  } while (0)

/// Runs `f` with the kernels limited to n threads, then restores the default.
template <class F>
auto with_threads(int n, F&& f) {
  struct Restore {
    int prev;
    ~Restore() {
      voxgrad::set_num_threads(prev);
    }
  } restore{voxgrad::num_threads()};
  voxgrad::set_num_threads(n);
  return f();
}

/// Makes `dir` the current directory until scope exit (for documentation
/// snippets that write to relative paths).
struct CurrentDir {
  std::filesystem::path old = std::filesystem::current_path();
  explicit CurrentDir(const std::filesystem::path& dir) {
    std::filesystem::current_path(dir);
  }
  ~CurrentDir() {
    std::error_code ec;
    std::filesystem::current_path(old, ec);
  }
  CurrentDir(const CurrentDir&) = delete;
  CurrentDir& operator=(const CurrentDir&) = delete;
};

/// A fresh folder under the system's temporary folder, removed with
/// everything in it at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag = "test") {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("voxgrad_" + tag + "_" + std::to_string(::getpid()) + "_" +
            std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const {
    return (path / name).string();
  }
  /// The names of the entries in the folder, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// How a child process limits itself before running a body (see in_child).
enum class Fault {
  None,
  /// setrlimit(RLIMIT_FSIZE) to `arg` bytes with SIGXFSZ ignored: a write
  /// past that size fails with EFBIG, as a full disk fails with ENOSPC.
  FileSizeLimit,
  /// Runs as an unprivileged user (uid/gid 65534) when root, so folders
  /// of mode 0755 owned by root are read-only to it.
  Unprivileged,
};

/// Runs `body` in a forked child under `fault` and returns the message of
/// the voxgrad::Error it threw ("" when it returned normally; "crash: ..."
/// when it died another way), so tests can fail writes for real without
/// touching the test process.
inline std::string in_child(
    const std::function<void()>& body,
    Fault fault = Fault::None,
    uint64_t arg = 0) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (fault == Fault::FileSizeLimit) {
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit lim{static_cast<rlim_t>(arg), static_cast<rlim_t>(arg)};
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0)
        ::_exit(4);
    } else if (fault == Fault::Unprivileged && ::geteuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0)
        ::_exit(5);
    }
    std::string msg;
    int code = 0;
    try {
      body();
    } catch (const voxgrad::Error& e) {
      msg = e.what();
      code = 1;
    } catch (...) {
      code = 2;
    }
    size_t off = 0;
    while (off < msg.size()) {
      const ssize_t n = ::write(fds[1], msg.data() + off, msg.size() - off);
      if (n <= 0)
        break;
      off += static_cast<size_t>(n);
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0)
      break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    return "crash: signal " + std::to_string(WTERMSIG(status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
    return "crash: exit " + std::to_string(WEXITSTATUS(status));
  return msg;
}

}  // namespace voxgrad::test
