// Atomic file writes (NOTE [ Atomic file writes ]): failures made real in a
// child process (a file-size limit for a full disk, an unprivileged user for
// a read-only folder), a file where a folder should be, a folder where the
// file should be. After each: the previous file byte for byte, no temporary
// file left, and a message with the path and errno's text.

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "test_util.hpp"
#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/core/npy.hpp"

namespace voxgrad {
namespace {

namespace fs = std::filesystem;
using test::Fault;
using test::in_child;
using test::TempDir;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// A folder the unprivileged child cannot write to (mode 0755, owned by
/// root); when the tests do not run as root, mode 0555 does the same.
struct ReadOnly {
  std::string dir;
  explicit ReadOnly(const std::string& d) : dir(d) {
    ::chmod(dir.c_str(), ::geteuid() == 0 ? 0755 : 0555);
  }
  ~ReadOnly() {
    ::chmod(dir.c_str(), 0755);
  }
};

}  // namespace

TEST_CASE("write_file_atomic replaces a file and leaves nothing else") {
  TempDir dir("atomic");
  const std::string p = dir / "a.txt";
  write_file_atomic(p, std::string_view("first"));
  CHECK(test::read_bytes(p) == "first");
  write_file_atomic(p, std::string_view("second, longer"));
  CHECK(test::read_bytes(p) == "second, longer");
  write_file_atomic(p, std::string_view(""));
  CHECK(test::read_bytes(p).empty());
  CHECK(dir.entries() == std::vector<std::string>{"a.txt"});
  // A new file gets 0666 minus the umask, like any file the user creates.
  const mode_t mask = ::umask(022);
  ::umask(mask);
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0666 & ~mask));
}

TEST_CASE("a 255-byte file name works: the temporary name stays short") {
  TempDir dir("atomic");
  for (size_t len : {250, 255}) {
    const std::string name = std::string(len - 4, 'x') + ".npy";
    save_npy(dir / name, arange(5));
    CHECK(load_npy(dir / name).numel() == 5);
    // UTF-8 names are not cut inside a character in the temporary name.
    const std::string utf8 = std::string(38, 'a') + "\xc3\xa9\xc3\xa9.txt";
    write_file_atomic(dir / utf8, std::string_view("x"));
    CHECK(test::read_bytes(dir / utf8) == "x");
  }
  CHECK(dir.entries().size() == 3);
}

TEST_CASE("a full disk (file-size limit) keeps the previous file, no temp") {
  TempDir dir("atomic");
  const std::string p = dir / "data.bin";
  write_file_atomic(p, std::string_view("previous content"));
  const std::string big(200000, 'z');
  for (uint64_t limit :
       {uint64_t{0}, uint64_t{1}, uint64_t{4096}, uint64_t{65536},
        uint64_t{199999}}) {
    CAPTURE(limit);
    const std::string msg = in_child(
        [&] { write_file_atomic(p, big, "writer"); }, Fault::FileSizeLimit,
        limit);
    CHECK(contains(msg, "writer: cannot write '" + p + "'"));
    CHECK(contains(msg, "File too large"));
    CHECK(contains(msg, "failed after " + std::to_string(limit) + " bytes"));
    CHECK(contains(msg, "previous file (if any) is unchanged"));
    CHECK(test::read_bytes(p) == "previous content");
    CHECK(dir.entries() == std::vector<std::string>{"data.bin"});
  }
  // Exactly at the limit it fits.
  CHECK(
      in_child(
          [&] { write_file_atomic(p, big, "writer"); }, Fault::FileSizeLimit,
          big.size()) == "");
  CHECK(test::read_bytes(p) == big);
}

TEST_CASE("save_npy on a full disk keeps the previous .npy file") {
  TempDir dir("atomic");
  const std::string p = dir / "x.npy";
  save_npy(p, arange(10));
  const std::string before = test::read_bytes(p);
  for (uint64_t limit :
       {uint64_t{0}, uint64_t{100}, uint64_t{128}, uint64_t{1000}}) {
    const std::string msg = in_child(
        [&] {
          save_npy(p, ones({64, 64}));
        },
        Fault::FileSizeLimit, limit);
    CHECK(contains(msg, "save_npy: cannot write '" + p + "'"));
    CHECK(contains(msg, "File too large"));
    CHECK(test::read_bytes(p) == before);
    CHECK(dir.entries() == std::vector<std::string>{"x.npy"});
  }
  CHECK(test::bit_equal(load_npy(p), arange(10)));
}

TEST_CASE("a read-only folder: refused with the reason, nothing changes") {
  TempDir dir("atomic");
  const std::string p = dir / "f.txt";
  write_file_atomic(p, std::string_view("keep"));
  ReadOnly ro(dir.path.string());
  const std::string msg = in_child(
      [&] { write_file_atomic(p, std::string_view("new"), "w"); },
      Fault::Unprivileged);
  CHECK(contains(msg, "w: cannot write '" + p + "'"));
  CHECK(contains(msg, "cannot create a temporary file in the folder"));
  CHECK(contains(msg, "Permission denied"));
  const std::string npy_msg = in_child(
      [&] { save_npy(dir / "n.npy", ones({2})); }, Fault::Unprivileged);
  CHECK(contains(npy_msg, "save_npy: cannot write"));
  CHECK(contains(npy_msg, "Permission denied"));
  CHECK(test::read_bytes(p) == "keep");
  CHECK(dir.entries() == std::vector<std::string>{"f.txt"});
}

TEST_CASE("a path through a file, or naming a folder, is refused cleanly") {
  TempDir dir("atomic");
  const std::string file = dir / "plain";
  write_file_atomic(file, std::string_view("x"));
  CHECK_ERROR_CONTAINS(
      write_file_atomic(file + "/child.txt", std::string_view("y"), "w"),
      "w: cannot write '", "/plain/child.txt'", "Not a directory");
  CHECK_ERROR_CONTAINS(
      write_file_atomic(dir / "missing/child.txt", std::string_view("y")),
      "No such file or directory");
  // The target is an existing folder: the rename fails, the temp goes.
  fs::create_directory(dir.path / "folder");
  fs::create_directory(dir.path / "folder" / "inside");
  CHECK_ERROR_CONTAINS(
      write_file_atomic(dir / "folder", std::string_view("y"), "w"),
      "rename over the target", "Is a directory");
  CHECK_ERROR_CONTAINS(
      write_file_atomic(dir / "folder/", std::string_view("y"), "w"),
      "names a folder");
  CHECK_ERROR_CONTAINS(
      write_file_atomic("", std::string_view("y"), "w"), "names a folder");
  CHECK(dir.entries() == std::vector<std::string>{"folder", "plain"});
  CHECK(test::read_bytes(file) == "x");
}

TEST_CASE("AtomicFile: abandoned without commit, the target is untouched") {
  TempDir dir("atomic");
  const std::string p = dir / "t.bin";
  write_file_atomic(p, std::string_view("old"));
  {
    AtomicFile f(p, "test");
    f.write(std::string_view("partial"));
    CHECK(fs::exists(f.temp_path()));
    CHECK(fs::path(f.temp_path()).parent_path() == dir.path);
    CHECK(f.bytes_written() == 7);
  }  // destroyed: as if an exception unwound past it
  CHECK(test::read_bytes(p) == "old");
  CHECK(dir.entries() == std::vector<std::string>{"t.bin"});
  // Two writers of one target: unique temporaries, the last commit wins.
  AtomicFile a(p, "a"), b(p, "b");
  CHECK(a.temp_path() != b.temp_path());
  a.write(std::string_view("from a"));
  b.write(std::string_view("from b"));
  a.commit();
  b.commit();
  CHECK(test::read_bytes(p) == "from b");
  CHECK_ERROR_CONTAINS(a.write(std::string_view("late")), "after commit()");
  CHECK(dir.entries() == std::vector<std::string>{"t.bin"});
}

}  // namespace voxgrad
