#pragma once
// The part of the ZIP format that NumPy's .npz files use: the central
// directory (with ZIP64 sizes, which np.savez always writes), entries stored
// or deflated (inflated by zlib), each checked against its CRC-32.

#include <cstdint>
#include <string>
#include <vector>
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data::detail {

/// The entries of a ZIP archive (an .npz) held in memory, read strictly.
class ZipArchive {
 public:
  /// Parses the directory of an archive held in `bytes` (kept by
  /// reference: it must outlive the archive). Throws voxgrad::Error naming
  /// `where` for anything that is not a well-formed archive.
  ZipArchive(const std::string& bytes, std::string where);

  /// Entry names, in directory order.
  std::vector<std::string> names() const;
  /// The uncompressed bytes of entry `name`, at most `max_bytes` of them;
  /// throws naming the entry when absent, encrypted, compressed by a method
  /// other than stored/deflate, larger than max_bytes, or corrupt.
  std::string read(const std::string& name, int64_t max_bytes) const;

 private:
  struct Entry {
    std::string name;
    uint16_t method = 0, flags = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0, size = 0, local_offset = 0;
  };
  const std::string& bytes_;
  std::string where_;
  std::vector<Entry> entries_;
};

}  // namespace voxgrad::data::detail

VOXGRAD_PUBLIC_END
