#pragma once
// The element buffer behind one or more tensors (views share it).

#include <cstddef>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// Alignment of every buffer: one cache line, enough for any SIMD width.
inline constexpr size_t kStorageAlignment = 64;

/// An uninitialised, 64-byte-aligned buffer of `nbytes` bytes. Memory comes
/// from voxgrad/core/allocator.cpp, which may recycle blocks between tensors.
class Storage {
 public:
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() {
    return data_;
  }
  const void* data() const {
    return data_;
  }
  size_t nbytes() const {
    return nbytes_;
  }

 private:
  void* data_;
  size_t nbytes_;
};

namespace detail {
/// The two ends of the allocator used by Storage (see
/// voxgrad/core/allocator.cpp).
void* allocate_bytes(size_t nbytes);
void free_bytes(void* ptr, size_t nbytes);
}  // namespace detail

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
