#pragma once
// Scratch: the executors' uninitialised, 64-byte-aligned workspace buffers,
// each reported to workspace_track() (conv3d_internal.hpp). Internal
// linkage: compiled once per instruction set.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "voxgrad/core/kernels/conv3d_engine/index_math.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class E>
class Scratch {
 public:
  explicit Scratch(int64_t n)
      : bytes_(round_up(imax(n, 1) * static_cast<int64_t>(sizeof(E)), 64)) {
    p_ = static_cast<E*>(std::aligned_alloc(64, static_cast<size_t>(bytes_)));
    if (!p_)
      throw std::bad_alloc();
    workspace_track(bytes_);
  }
  ~Scratch() {
    std::free(p_);
    workspace_track(-bytes_);
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
  int64_t bytes_ = 0;
  E* p_ = nullptr;
};

}  // namespace
}  // namespace voxgrad::kernels::detail
