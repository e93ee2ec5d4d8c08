#pragma once
// The plain-data interface between resample3d.cpp and the per-ISA loops of
// resample3d_impl.hpp (NOTE [ ISA dispatch ] in isa.hpp). Internal header.

#include <cstdint>

namespace voxgrad::kernels::detail {

/// One axis of a separable map in CSR form: output index o reads the input
/// indices idx[start[o] .. start[o + 1]) with weights w[...].
template <class T>
struct AxisMapView {
  int64_t in = 0, out = 0;
  const int64_t* start = nullptr;  // out + 1 entries
  const int64_t* idx = nullptr;
  const T* w = nullptr;
  /// Every row is a single weight 1 (nearest forward): a pure gather.
  bool unit = false;
};

/// y (planes, d.out, h.out, w.out) = (A_d ⊗ A_h ⊗ A_w) x (planes, d.in,
/// h.in, w.in), both contiguous. row_used[ih] says whether some output row
/// reads input row ih.
template <class T>
struct ResampleArgs {
  const T* x = nullptr;
  T* y = nullptr;
  int64_t planes = 0;
  AxisMapView<T> d, h, w;
  const char* row_used = nullptr;
};

template <class T>
struct ResampleTable {
  const char* name;
  void (*apply)(const ResampleArgs<T>&);
};

template <class T>
const ResampleTable<T>& resample3d_generic();
template <class T>
const ResampleTable<T>& resample3d_avx2();
template <class T>
const ResampleTable<T>& resample3d_avx512();

}  // namespace voxgrad::kernels::detail
