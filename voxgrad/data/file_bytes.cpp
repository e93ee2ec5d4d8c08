#include "voxgrad/data/file_bytes.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

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

}  // namespace voxgrad::data::detail
