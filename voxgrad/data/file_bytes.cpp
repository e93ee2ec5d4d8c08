#include "voxgrad/data/file_bytes.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <unistd.h>

#include "voxgrad/core/error.hpp"

namespace voxgrad::data::detail {

std::string read_bytes(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  VOXGRAD_CHECK(
      std::filesystem::is_regular_file(path, ec), "'", path,
      "' is not a readable file");
  const auto size = std::filesystem::file_size(path, ec);
  VOXGRAD_CHECK(!ec, "cannot stat '", path, "': ", ec.message());
  VOXGRAD_CHECK(
      size <= static_cast<uintmax_t>(max_bytes), "'", path, "' has ", size,
      " bytes, more than the limit of ", max_bytes);
  std::ifstream in(path, std::ios::binary);
  VOXGRAD_CHECK(in, "cannot open '", path, "'");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  VOXGRAD_CHECK(
      in.gcount() == static_cast<std::streamsize>(size), "cannot read '", path,
      "' (", in.gcount(), " of ", size, " bytes)");
  return bytes;
}

void write_bytes_atomic(const std::string& path, const std::string& bytes) {
  // Unique per process and call, so concurrent writers never share a
  // temporary file.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    VOXGRAD_CHECK(out, "cannot create '", tmp, "' (is the folder writable?)");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    VOXGRAD_CHECK(out, "cannot write '", tmp, "' (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    VOXGRAD_FAIL("cannot move a new file into '", path, "'");
  }
}

}  // namespace voxgrad::data::detail
