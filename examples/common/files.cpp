#include "files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <unistd.h>

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  VOXGRAD_CHECK(
      !ec && std::filesystem::is_directory(dir), "cannot create folder '", dir,
      "': ", ec ? ec.message() : "a file of that name exists");
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    VOXGRAD_CHECK(out.good(), "cannot open '", tmp, "' for writing");
    out << text;
    out.flush();
    VOXGRAD_CHECK(out.good(), "cannot write '", tmp, "' (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    VOXGRAD_FAIL("cannot replace '", path, "': ", why);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VOXGRAD_CHECK(in.good(), "cannot open '", path, "' for reading");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace voxgrad::examples
