#include "voxgrad/data/zip_archive.hpp"

#include <zlib.h>

#include <algorithm>

#include "voxgrad/core/error.hpp"

namespace voxgrad::data::detail {
namespace {

uint64_t le(const std::string& b, uint64_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<uint64_t>(i)]);
  return v;
}

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kZip64EndLocator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;

}  // namespace

ZipArchive::ZipArchive(const std::string& bytes, std::string where)
    : bytes_(bytes), where_(std::move(where)) {
  const uint64_t n = bytes.size();
  auto need = [&](uint64_t at, uint64_t len, const char* what) {
    VOXGRAD_CHECK(
        at <= n && len <= n - at, "'", where_, "' is not a valid .npz/zip ",
        "archive: ", what, " at byte ", at, " runs past the end (", n,
        " bytes)");
  };
  // The end-of-directory record is the last 22 bytes plus a comment of at
  // most 65535 bytes.
  VOXGRAD_CHECK(
      n >= 22, "'", where_, "' is not a .npz/zip archive (", n, " bytes)");
  uint64_t eocd = n;
  for (uint64_t at = n - 22;; --at) {
    if (le(bytes, at, 4) == kEndOfDirectory) {
      eocd = at;
      break;
    }
    if (at == 0 || n - at > 22 + 65535)
      break;
  }
  VOXGRAD_CHECK(
      eocd < n, "'", where_,
      "' is not a .npz/zip archive (no end-of-directory record)");
  uint64_t count = le(bytes, eocd + 10, 2);
  uint64_t dir_size = le(bytes, eocd + 12, 4);
  uint64_t dir_at = le(bytes, eocd + 16, 4);
  if ((count == 0xFFFF || dir_at == 0xFFFFFFFF || dir_size == 0xFFFFFFFF) &&
      eocd >= 20 && le(bytes, eocd - 20, 4) == kZip64EndLocator) {
    const uint64_t z64 = le(bytes, eocd - 20 + 8, 8);
    need(z64, 56, "the ZIP64 end record");
    VOXGRAD_CHECK(
        le(bytes, z64, 4) == kZip64End, "'", where_,
        "': bad ZIP64 end-of-directory record");
    count = le(bytes, z64 + 32, 8);
    dir_size = le(bytes, z64 + 40, 8);
    dir_at = le(bytes, z64 + 48, 8);
  }
  need(dir_at, dir_size, "the central directory");
  uint64_t at = dir_at;
  for (uint64_t i = 0; i < count; ++i) {
    need(at, 46, "a directory entry");
    VOXGRAD_CHECK(
        le(bytes, at, 4) == kDirectoryEntry, "'", where_,
        "': bad central directory entry ", i);
    Entry e;
    e.flags = static_cast<uint16_t>(le(bytes, at + 8, 2));
    e.method = static_cast<uint16_t>(le(bytes, at + 10, 2));
    e.crc = static_cast<uint32_t>(le(bytes, at + 16, 4));
    e.compressed = le(bytes, at + 20, 4);
    e.size = le(bytes, at + 24, 4);
    const uint64_t name_len = le(bytes, at + 28, 2),
                   extra_len = le(bytes, at + 30, 2),
                   comment_len = le(bytes, at + 32, 2);
    e.local_offset = le(bytes, at + 42, 4);
    need(at + 46, name_len + extra_len + comment_len, "a directory entry");
    e.name = bytes.substr(at + 46, name_len);
    // ZIP64 extra field (id 1): the 64-bit values of the fields set to
    // 0xFFFFFFFF, in the order size, compressed size, offset.
    uint64_t x = at + 46 + name_len;
    const uint64_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint64_t id = le(bytes, x, 2), len = le(bytes, x + 2, 2);
      VOXGRAD_CHECK(
          x + 4 + len <= x_end, "'", where_, "': bad extra field in entry '",
          e.name, "'");
      if (id == 1) {
        uint64_t f = x + 4;
        auto take = [&](uint64_t& field) {
          if (field == 0xFFFFFFFF) {
            VOXGRAD_CHECK(
                f + 8 <= x + 4 + len, "'", where_, "': short ZIP64 field in '",
                e.name, "'");
            field = le(bytes, f, 8);
            f += 8;
          }
        };
        take(e.size);
        take(e.compressed);
        take(e.local_offset);
      }
      x += 4 + len;
    }
    entries_.push_back(e);
    at = x_end + comment_len;
  }
}

std::vector<std::string> ZipArchive::names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_)
    out.push_back(e.name);
  return out;
}

std::string ZipArchive::read(const std::string& name, int64_t max_bytes) const {
  const auto it = std::find_if(
      entries_.begin(), entries_.end(),
      [&](const Entry& e) { return e.name == name; });
  VOXGRAD_CHECK(
      it != entries_.end(), "'", where_, "' has no entry '", name, "'");
  const Entry& e = *it;
  const uint64_t n = bytes_.size();
  VOXGRAD_CHECK(
      !(e.flags & 1), "'", where_, "': entry '", name, "' is encrypted");
  VOXGRAD_CHECK(
      e.size <= static_cast<uint64_t>(max_bytes), "'", where_, "': entry '",
      name, "' holds ", e.size, " bytes, more than the limit of ", max_bytes);
  VOXGRAD_CHECK(
      e.local_offset <= n && n - e.local_offset >= 30 &&
          le(bytes_, e.local_offset, 4) == kLocalHeader,
      "'", where_, "': bad local header for '", name, "'");
  const uint64_t data_at = e.local_offset + 30 +
                           le(bytes_, e.local_offset + 26, 2) +
                           le(bytes_, e.local_offset + 28, 2);
  VOXGRAD_CHECK(
      data_at <= n && e.compressed <= n - data_at, "'", where_, "': entry '",
      name, "' runs past the end of the archive");
  std::string out;
  if (e.method == 0) {
    VOXGRAD_CHECK(
        e.compressed == e.size, "'", where_, "': stored entry '", name,
        "' has different stored and real sizes");
    out = bytes_.substr(data_at, e.size);
  } else if (e.method == 8) {
    out.assign(e.size, '\0');
    z_stream s{};
    VOXGRAD_CHECK(
        inflateInit2(&s, -MAX_WBITS) == Z_OK, "zlib: inflateInit2 failed");
    // zlib counts in uInt: feed and drain in chunks below 4 GiB.
    uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      const uint64_t in_left = e.compressed - in_done,
                     out_left = e.size - out_done;
      s.next_in = reinterpret_cast<Bytef*>(
          const_cast<char*>(bytes_.data() + data_at + in_done));
      s.avail_in = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      s.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
      s.avail_out = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      const uInt in_before = s.avail_in, out_before = s.avail_out;
      rc = inflate(&s, Z_NO_FLUSH);
      in_done += in_before - s.avail_in;
      out_done += out_before - s.avail_out;
      if (rc == Z_OK && in_before == s.avail_in && out_before == s.avail_out)
        rc = Z_BUF_ERROR;  // no progress: truncated or oversized data
    }
    inflateEnd(&s);
    VOXGRAD_CHECK(
        rc == Z_STREAM_END && out_done == e.size, "'", where_, "': entry '",
        name, "' does not inflate to its ", e.size, " bytes (corrupt data)");
  } else {
    VOXGRAD_FAIL(
        "'", where_, "': entry '", name, "' uses compression method ", e.method,
        "; only stored (0) and deflate (8) are read");
  }
  const uLong crc = crc32_z(
      crc32(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()),
      out.size());
  VOXGRAD_CHECK(
      crc == e.crc, "'", where_, "': entry '", name,
      "' fails its CRC-32 check (corrupt data)");
  return out;
}

}  // namespace voxgrad::data::detail
