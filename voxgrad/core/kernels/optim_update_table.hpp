#pragma once
// The plain-data interface between optim_update.cpp and the per-ISA loops of
// optim_update_impl.hpp (NOTE [ ISA dispatch ] in isa.hpp). Internal header.

#include "voxgrad/core/kernels/optim_update.hpp"

namespace voxgrad::kernels::detail {

/// Elements [begin, end) of tensor `t`: the fixed work units of one step.
struct UpdateChunk {
  int64_t t = 0, begin = 0, end = 0;
};

template <class T>
struct OptimTable {
  const char* name;
  void (*adam)(
      const AdamTensor<T>*, const UpdateChunk*, int64_t, const AdamScalars<T>&);
  void (*sgd)(
      const SgdTensor<T>*, const UpdateChunk*, int64_t, const SgdScalars<T>&);
  void (*ema)(const EmaTensor<T>*, const UpdateChunk*, int64_t, T);
};

template <class T>
const OptimTable<T>& optim_update_generic();
template <class T>
const OptimTable<T>& optim_update_avx2();
template <class T>
const OptimTable<T>& optim_update_avx512();

}  // namespace voxgrad::kernels::detail
