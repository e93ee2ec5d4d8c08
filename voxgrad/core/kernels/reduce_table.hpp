#pragma once
// The plain-data interface between reduce.cpp and the per-ISA loops of
// reduce_impl.hpp (NOTE [ ISA dispatch ] in isa.hpp). Internal header.

#include <cstdint>

namespace voxgrad::kernels::detail {

/// x's kept axes (nk, outermost first) index the nout outputs; its reduced
/// axes (nr >= 1, outermost first, the innermost of smallest stride) are
/// walked in that order. Output o is split into `blocks` blocks of
/// `per_block` reduced elements (the last may be shorter).
template <class T>
struct ReduceArgs {
  const T* x = nullptr;
  bool sum = true;  // else max
  int64_t nk = 0, nr = 0;
  const int64_t* kept_sizes = nullptr;
  const int64_t* kept_strides = nullptr;
  const int64_t* red_sizes = nullptr;
  const int64_t* red_strides = nullptr;
  int64_t nout = 0, rlen = 0, blocks = 1, per_block = 0;
};

template <class T>
struct ReduceTable {
  const char* name;
  /// partial[o * blocks + b]: the sum or max of block b of output o.
  void (*reduce)(const ReduceArgs<T>&, double* partial);
  /// Sums only, blocks == 1, the kept axes one contiguous run (stride 1):
  /// partial[o] as reduce() gives it.
  void (*sum_outer)(const ReduceArgs<T>&, double* partial);
};

template <class T>
const ReduceTable<T>& reduce_generic();
template <class T>
const ReduceTable<T>& reduce_avx2();
template <class T>
const ReduceTable<T>& reduce_avx512();

}  // namespace voxgrad::kernels::detail
