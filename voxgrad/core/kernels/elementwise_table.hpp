#pragma once
// The plain-data interface between elementwise.cpp and the per-ISA loops of
// elementwise_impl.hpp (NOTE [ ISA dispatch ] in isa.hpp). Internal header.

#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/kernels/loops.hpp"

namespace voxgrad::kernels::detail {

/// out[...] = f(in[0][...], ...) over the coalesced plan: operand 0 of the
/// plan is the output, operand k + 1 is in[k].
template <class T>
struct MapArgs {
  RowPlan plan;
  T* out = nullptr;
  const T* in[kMaxLoopOperands - 1] = {};
};

template <class T>
struct ElementwiseTable {
  const char* name;
  void (*unary)(UnaryOp, const MapArgs<T>&);
  void (*param)(ParamOp, const MapArgs<T>&, double a, double b);
  void (*binary)(BinaryOp, const MapArgs<T>&);
  void (*where)(const MapArgs<T>&);  // in: cond, a, b
  void (*fused)(FusedOp, const MapArgs<T>&, double a, double b);
};

template <class T>
const ElementwiseTable<T>& elementwise_generic();
template <class T>
const ElementwiseTable<T>& elementwise_avx2();
template <class T>
const ElementwiseTable<T>& elementwise_avx512();

}  // namespace voxgrad::kernels::detail
