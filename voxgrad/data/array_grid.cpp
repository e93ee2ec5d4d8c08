#include "voxgrad/data/array_grid.hpp"

#include <cmath>
#include <cstring>

#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/npy.hpp"
#include "voxgrad/data/file_bytes.hpp"
#include "voxgrad/data/zip_archive.hpp"

namespace voxgrad::data {
namespace {

// A grid's bytes at the widest dtype, plus room for the header.
constexpr int64_t kMaxArrayBytes = 8 * kMaxGridVoxels + 65536;

double value_at(const char* p, char kind, int64_t size) {
  auto get = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
  };
  switch (kind) {
    case 'b':
      return *p != 0 ? 1.0 : 0.0;
    case 'u':
      return size == 1   ? get(uint8_t{})
             : size == 2 ? get(uint16_t{})
             : size == 4 ? get(uint32_t{})
                         : get(uint64_t{});
    case 'i':
      return size == 1   ? get(int8_t{})
             : size == 2 ? get(int16_t{})
             : size == 4 ? get(int32_t{})
                         : get(int64_t{});
    default:
      return size == 4 ? get(float{}) : get(double{});
  }
}

}  // namespace

ArrayAxes parse_array_axes(const std::string& text) {
  if (text == "zyx")
    return ArrayAxes::ZYX;
  if (text == "xyz")
    return ArrayAxes::XYZ;
  VOXGRAD_FAIL("array axes must be \"zyx\" or \"xyz\" (got \"", text, "\")");
}

VoxelGrid parse_npy_grid(
    const std::string& b,
    const std::string& where,
    const ArrayGridOptions& options) {
  // The project's one strict .npy header reader: it checks the grammar,
  // every count and that the data fill the rest of the bytes exactly.
  const NpyHeader h = parse_npy_header(
      {reinterpret_cast<const uint8_t*>(b.data()), b.size()}, b.size(), where);
  std::vector<int64_t> s = h.shape;
  if (s.size() == 4 && s[0] == 1)
    s.erase(s.begin());
  VOXGRAD_CHECK(
      s.size() == 3, "'", where,
      "': a grid must have shape (D, H, W) or (1, D, H, W), not a ",
      h.shape.size(), "-d array");
  checked_voxel_count(s[0], s[1], s[2], "'" + where + "': array shape");
  const auto itemsize = static_cast<int64_t>(h.element.bytes);
  // Array index (i, j, k) in the file's axis order -> grid voxel.
  const bool xyz = options.axes == ArrayAxes::XYZ;
  VoxelGrid g = xyz ? VoxelGrid(s[2], s[1], s[0]) : VoxelGrid(s[0], s[1], s[2]);
  const char* data = b.data() + h.data_offset;
  for (int64_t i = 0; i < s[0]; ++i)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t k = 0; k < s[2]; ++k) {
        const int64_t flat = h.fortran_order ? (k * s[1] + j) * s[0] + i
                                             : (i * s[1] + j) * s[2] + k;
        const double v =
            value_at(data + flat * itemsize, h.element.kind, itemsize);
        VOXGRAD_CHECK(
            !std::isnan(v), "'", where, "': value at [", i, ", ", j, ", ", k,
            "] is NaN");
        if (v > options.threshold) {
          if (xyz)
            g.set(k, j, i, true);
          else
            g.set(i, j, k, true);
        }
      }
  return g;
}

VoxelGrid read_npy_grid(const std::string& path, const ArrayGridOptions& o) {
  return parse_npy_grid(detail::read_bytes(path, kMaxArrayBytes), path, o);
}

std::vector<std::string> npz_keys(const std::string& path) {
  const std::string bytes = detail::read_bytes(path, kMaxArrayBytes);
  std::vector<std::string> keys;
  for (std::string name : detail::ZipArchive(bytes, path).names()) {
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    keys.push_back(name);
  }
  return keys;
}

VoxelGrid read_npz_grid(const std::string& path, const ArrayGridOptions& o) {
  const std::string bytes = detail::read_bytes(path, kMaxArrayBytes);
  const detail::ZipArchive zip(bytes, path);
  const std::vector<std::string> names = zip.names();
  std::string entry = o.npz_key + ".npy";
  if (o.npz_key.empty()) {
    std::string all;
    for (const std::string& n : names)
      all += (all.empty() ? "" : ", ") + n;
    VOXGRAD_CHECK(
        names.size() == 1, "'", path, "' holds ", names.size(), " arrays (",
        all, "); name the one to read (npz key)");
    entry = names[0];
  }
  return parse_npy_grid(zip.read(entry, kMaxArrayBytes), path + ":" + entry, o);
}

std::string format_npy_grid(const VoxelGrid& g) {
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" +
                       std::to_string(g.depth) + ", " +
                       std::to_string(g.height) + ", " +
                       std::to_string(g.width) + "), }";
  // Pad with spaces so magic + length + header + '\n' is a multiple of 64.
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(g.occupancy.begin(), g.occupancy.end());
  return out;
}

void write_npy_grid(const std::string& path, const VoxelGrid& grid) {
  write_file_atomic(path, format_npy_grid(grid), "write_npy_grid");
}

}  // namespace voxgrad::data
