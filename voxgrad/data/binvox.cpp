#include "voxgrad/data/binvox.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/core/error.hpp"
#include "voxgrad/data/file_bytes.hpp"

namespace voxgrad::data {
namespace {

// The header is short text; a longer one is not a binvox file.
constexpr size_t kMaxHeader = 4096;

}  // namespace

Binvox parse_binvox(const std::string& bytes, const std::string& where) {
  const size_t data_at = bytes.find("\ndata\n");
  VOXGRAD_CHECK(
      bytes.rfind("#binvox ", 0) == 0 && data_at != std::string::npos &&
          data_at < kMaxHeader,
      "'", where,
      "' is not a .binvox file (expected '#binvox 1' and a 'data' line "
      "within the first ",
      kMaxHeader, " bytes)");
  std::istringstream header(bytes.substr(0, data_at));
  std::string line, word;
  std::getline(header, line);
  VOXGRAD_CHECK(
      line == "#binvox 1", "'", where, "': unsupported binvox version line '",
      line, "' (expected '#binvox 1')");
  Binvox b;
  int64_t dims[3] = {0, 0, 0};
  bool have_dim = false;
  while (std::getline(header, line)) {
    std::istringstream ls(line);
    ls >> word;
    if (word == "dim") {
      ls >> dims[0] >> dims[1] >> dims[2];
      VOXGRAD_CHECK(
          ls && !ls.fail(), "'", where, "': bad dim line '", line, "'");
      have_dim = true;
    } else if (word == "translate") {
      ls >> b.translate[0] >> b.translate[1] >> b.translate[2];
      VOXGRAD_CHECK(
          !ls.fail() && std::isfinite(b.translate[0]) &&
              std::isfinite(b.translate[1]) && std::isfinite(b.translate[2]),
          "'", where, "': bad translate line '", line, "'");
    } else if (word == "scale") {
      ls >> b.scale;
      VOXGRAD_CHECK(
          !ls.fail() && std::isfinite(b.scale) && b.scale > 0, "'", where,
          "': bad scale line '", line, "'");
    }  // other lines: ignored, as binvox's own reader does
  }
  VOXGRAD_CHECK(have_dim, "'", where, "': the header has no 'dim' line");
  // binvox dims (d, h, w): x spans d, z spans h, y spans w.
  const int64_t n =
      checked_voxel_count(dims[0], dims[1], dims[2], "'" + where + "': dim");
  const int64_t nx = dims[0], nz = dims[1], ny = dims[2];
  b.grid = VoxelGrid(nz, ny, nx);
  int64_t run = 0;  // binvox run index
  size_t p = data_at + 6;
  while (run < n) {
    VOXGRAD_CHECK(
        p + 2 <= bytes.size(), "'", where, "': the runs cover ", run,
        " of the ", n, " voxels (truncated file?)");
    const auto value = static_cast<uint8_t>(bytes[p]);
    const auto count = static_cast<uint8_t>(bytes[p + 1]);
    p += 2;
    VOXGRAD_CHECK(
        value <= 1, "'", where, "': run value ", int{value}, " at byte ", p - 2,
        " is not 0 or 1");
    VOXGRAD_CHECK(
        run + count <= n, "'", where, "': the runs overrun the ", n,
        " voxels of dim ", dims[0], " ", dims[1], " ", dims[2]);
    if (value)
      for (int64_t r = run; r < run + count; ++r) {
        const int64_t x = r / (nz * ny), z = (r / ny) % nz, y = r % ny;
        b.grid.set(z, y, x, true);
      }
    run += count;
  }
  VOXGRAD_CHECK(
      p == bytes.size(), "'", where, "': ", bytes.size() - p,
      " bytes after the runs that cover all ", n, " voxels");
  return b;
}

Binvox read_binvox(const std::string& path) {
  // The largest grid's worst case: two bytes per voxel.
  return parse_binvox(
      detail::read_bytes(path, 2 * kMaxGridVoxels + kMaxHeader), path);
}

std::string format_binvox(const Binvox& b) {
  const VoxelGrid& g = b.grid;
  std::ostringstream os;
  os.precision(17);
  os << "#binvox 1\ndim " << g.width << " " << g.depth << " " << g.height
     << "\ntranslate " << b.translate[0] << " " << b.translate[1] << " "
     << b.translate[2] << "\nscale " << b.scale << "\ndata\n";
  std::string out = os.str();
  const int64_t n = g.numel();
  uint8_t value = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t x = r / (g.depth * g.height), z = (r / g.height) % g.depth,
                  y = r % g.height;
    const uint8_t v = g.at(z, y, x) ? 1 : 0;
    if (count > 0 && (v != value || count == 255)) {
      out += static_cast<char>(value);
      out += static_cast<char>(count);
      count = 0;
    }
    value = v;
    ++count;
  }
  if (count > 0) {
    out += static_cast<char>(value);
    out += static_cast<char>(count);
  }
  return out;
}

void write_binvox(const std::string& path, const Binvox& b) {
  detail::write_bytes_atomic(path, format_binvox(b));
}

}  // namespace voxgrad::data
