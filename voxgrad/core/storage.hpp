#pragma once
// The element buffer behind one or more tensors (views share it).

#include <atomic>
#include <cstddef>
#include <cstdint>

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

  /// NOTE [ Version counter ]
  /// How many times the bytes were handed out for writing (every
  /// Tensor::mutable_data call bumps it). It lives on the storage, so every
  /// view and every detach() of a tensor shares it, as PyTorch's version
  /// counter does; autograd records it for each saved tensor and refuses to
  /// run a backward whose saved tensors changed since (autograd/node.hpp).
  uint64_t version() const {
    return version_.load(std::memory_order_relaxed);
  }
  void bump_version() {
    version_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  void* data_;
  size_t nbytes_;
  std::atomic<uint64_t> version_{0};
};

namespace detail {
/// The two ends of the allocator used by Storage (see
/// voxgrad/core/allocator.cpp).
void* allocate_bytes(size_t nbytes);
void free_bytes(void* ptr, size_t nbytes);
}  // namespace detail

}  // namespace voxgrad
