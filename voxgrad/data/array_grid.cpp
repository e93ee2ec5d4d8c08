#include "voxgrad/data/array_grid.hpp"

#include <cmath>
#include <cstring>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/data/file_bytes.hpp"
#include "voxgrad/data/zip_archive.hpp"

namespace voxgrad::data {
namespace {

// A grid's bytes at the widest dtype, plus room for the header.
constexpr int64_t kMaxArrayBytes = 8 * kMaxGridVoxels + 65536;

struct Header {
  char kind = 0;  // 'b', 'u', 'i', 'f'
  int64_t itemsize = 0;
  bool fortran = false;
  std::vector<int64_t> shape;
  size_t data_at = 0;
};

// The value of `key` in the header's Python dict literal, as raw text.
std::string dict_value(
    const std::string& h, const std::string& key, const std::string& where) {
  const size_t k = h.find("'" + key + "'");
  VOXGRAD_CHECK(
      k != std::string::npos, "'", where, "': the .npy header has no '", key,
      "' (header: ", h, ")");
  size_t p = h.find(':', k);
  VOXGRAD_CHECK(p != std::string::npos, "'", where, "': bad .npy header ", h);
  ++p;
  while (p < h.size() && h[p] == ' ')
    ++p;
  size_t e = p;
  if (p < h.size() && h[p] == '(')
    e = h.find(')', p) + 1;
  else if (p < h.size() && h[p] == '\'')
    e = h.find('\'', p + 1) + 1;
  else
    e = h.find_first_of(",}", p);
  VOXGRAD_CHECK(
      e != std::string::npos && e != 0 && e <= h.size(), "'", where,
      "': bad .npy header ", h);
  return h.substr(p, e - p);
}

Header parse_header(const std::string& b, const std::string& where) {
  VOXGRAD_CHECK(
      b.size() >= 10 && b.compare(0, 6, "\x93NUMPY") == 0, "'", where,
      "' is not a .npy array (no \\x93NUMPY magic)");
  const int major = static_cast<uint8_t>(b[6]);
  VOXGRAD_CHECK(
      major >= 1 && major <= 3, "'", where, "': unsupported .npy version ",
      major);
  size_t len = 0, at = 0;
  if (major == 1) {
    len = static_cast<uint8_t>(b[8]) |
          (static_cast<size_t>(static_cast<uint8_t>(b[9])) << 8);
    at = 10;
  } else {
    VOXGRAD_CHECK(b.size() >= 12, "'", where, "': truncated .npy header");
    for (int i = 3; i >= 0; --i)
      len = (len << 8) | static_cast<uint8_t>(b[8 + static_cast<size_t>(i)]);
    at = 12;
  }
  VOXGRAD_CHECK(
      len <= 65536 && at + len <= b.size(), "'", where,
      "': truncated .npy header (", len, " bytes announced)");
  const std::string h = b.substr(at, len);
  Header out;
  out.data_at = at + len;
  const std::string descr = dict_value(h, "descr", where);
  VOXGRAD_CHECK(
      descr.size() >= 5 && descr.front() == '\'' && descr.back() == '\'', "'",
      where, "': bad dtype ", descr);
  const char order = descr[1];
  out.kind = descr[2];
  VOXGRAD_CHECK(
      order == '<' || order == '|', "'", where, "': dtype ", descr,
      " is big-endian; save it little-endian (arr.astype('<f4'))");
  out.itemsize = std::atoll(descr.c_str() + 3);
  const bool ok = (out.kind == 'b' && out.itemsize == 1) ||
                  ((out.kind == 'u' || out.kind == 'i') &&
                   (out.itemsize == 1 || out.itemsize == 2 ||
                    out.itemsize == 4 || out.itemsize == 8)) ||
                  (out.kind == 'f' && (out.itemsize == 4 || out.itemsize == 8));
  VOXGRAD_CHECK(
      ok, "'", where, "': dtype ", descr,
      " is not a grid dtype (bool, u1-u8, i1-i8, f4 or f8)");
  const std::string fortran = dict_value(h, "fortran_order", where);
  VOXGRAD_CHECK(
      fortran == "True" || fortran == "False", "'", where,
      "': bad fortran_order ", fortran);
  out.fortran = fortran == "True";
  const std::string shape = dict_value(h, "shape", where);
  size_t p = 1;
  while (p < shape.size()) {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ','))
      ++p;
    if (p >= shape.size() || shape[p] == ')')
      break;
    char* end = nullptr;
    const long long v = std::strtoll(shape.c_str() + p, &end, 10);
    VOXGRAD_CHECK(
        end != shape.c_str() + p && v >= 0, "'", where, "': bad shape ", shape);
    out.shape.push_back(v);
    p = static_cast<size_t>(end - shape.c_str());
  }
  return out;
}

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
  const Header h = parse_header(b, where);
  std::vector<int64_t> s = h.shape;
  if (s.size() == 4 && s[0] == 1)
    s.erase(s.begin());
  VOXGRAD_CHECK(
      s.size() == 3, "'", where,
      "': a grid must have shape (D, H, W) or (1, D, H, W), not a ",
      h.shape.size(), "-d array");
  const int64_t n =
      checked_voxel_count(s[0], s[1], s[2], "'" + where + "': array shape");
  const int64_t bytes =
      checked::mul(n, h.itemsize, "parse_npy_grid", "array bytes");
  VOXGRAD_CHECK(
      static_cast<int64_t>(b.size() - h.data_at) == bytes, "'", where,
      "': the header announces ", bytes, " bytes of data but the file holds ",
      b.size() - h.data_at);
  // Array index (i, j, k) in the file's axis order -> grid voxel.
  const bool xyz = options.axes == ArrayAxes::XYZ;
  VoxelGrid g = xyz ? VoxelGrid(s[2], s[1], s[0]) : VoxelGrid(s[0], s[1], s[2]);
  const char* data = b.data() + h.data_at;
  for (int64_t i = 0; i < s[0]; ++i)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t k = 0; k < s[2]; ++k) {
        const int64_t flat =
            h.fortran ? (k * s[1] + j) * s[0] + i : (i * s[1] + j) * s[2] + k;
        const double v = value_at(data + flat * h.itemsize, h.kind, h.itemsize);
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
  detail::write_bytes_atomic(path, format_npy_grid(grid));
}

}  // namespace voxgrad::data
