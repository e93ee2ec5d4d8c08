#pragma once
// Scratch: an executor's buffer of n elements, uninitialised and 64-byte
// aligned, taken from the calling thread's workspace stack
// (workspace_push / workspace_pop, conv3d_internal.hpp): buffers live in
// scopes, so they are released in reverse order. Internal linkage: compiled
// once per instruction set.

#include <cstdint>

#include "voxgrad/core/kernels/conv3d_engine/index_math.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class E>
class Scratch {
 public:
  explicit Scratch(int64_t n)
      : bytes_(round_up(imax(n, 1) * static_cast<int64_t>(sizeof(E)), 64)),
        p_(static_cast<E*>(workspace_push(bytes_))) {}
  ~Scratch() {
    workspace_pop(p_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  E* get() const {
    return p_;
  }
  E& operator[](int64_t i) const {
    return p_[i];
  }

 private:
  int64_t bytes_;
  E* p_;
};

}  // namespace
}  // namespace voxgrad::kernels::detail
