#pragma once
// The interface between softmax.cpp and the per-ISA loops of
// softmax_impl.hpp (NOTE [ ISA dispatch ] in isa.hpp). Internal header.

#include "voxgrad/core/kernels/softmax.hpp"

namespace voxgrad::kernels::detail {

template <class T>
struct SoftmaxTable {
  const char* name;
  void (*forward)(const ClassAxis&, const T*, T*, bool);
  void (*backward)(const ClassAxis&, const T*, const T*, T*, bool);
  void (*ce_forward)(
      const ClassAxis&, const T*, const CrossEntropyArgs<T>&, T*, T*);
  void (*ce_backward)(
      const ClassAxis&,
      const T*,
      const CrossEntropyArgs<T>&,
      const T*,
      const T*,
      T*);
};

template <class T>
const SoftmaxTable<T>& softmax_generic();
template <class T>
const SoftmaxTable<T>& softmax_avx2();
template <class T>
const SoftmaxTable<T>& softmax_avx512();

}  // namespace voxgrad::kernels::detail
