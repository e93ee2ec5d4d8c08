#include <cstdlib>
#include <new>

#include "core/error.hpp"
#include "core/storage.hpp"

namespace voxgrad {
namespace detail {

void* allocate_bytes(size_t nbytes) {
  // aligned_alloc needs a size that is a multiple of the alignment, and a
  // zero-byte tensor still gets a unique, valid pointer.
  const size_t rounded =
      (nbytes + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
  void* p = std::aligned_alloc(
      kStorageAlignment, rounded == 0 ? kStorageAlignment : rounded);
  VOXGRAD_CHECK(
      p != nullptr, "allocate: out of memory allocating ", nbytes, " bytes");
  return p;
}

void free_bytes(void* ptr, size_t /*nbytes*/) {
  std::free(ptr);
}

}  // namespace detail

Storage::Storage(size_t nbytes)
    : data_(detail::allocate_bytes(nbytes)), nbytes_(nbytes) {}

Storage::~Storage() {
  detail::free_bytes(data_, nbytes_);
}

}  // namespace voxgrad
