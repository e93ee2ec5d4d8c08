// The elementwise loops for AVX2 (this file is compiled with -mavx2 -mfma;
// elementwise.cpp calls into it only after checking the CPU supports it).
// xsimd::avx2, not fma3<avx2>: xsimd's exp/log/tanh evaluate polynomials
// with xsimd::fma, a real FMA only on fma3 (8.1 emulates it on SSE2 and
// AVX-512F); without it every ISA rounds alike (NOTE [ ISA dispatch ]).

#include "voxgrad/core/kernels/elementwise_table.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "voxgrad/core/kernels/elementwise_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ElementwiseTable<T>& elementwise_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  static constexpr ElementwiseTable<T> kTable =
      make_elementwise_table<T, xsimd::avx2>("avx2");
  return kTable;
#else
  return elementwise_generic<T>();  // built without the flags
#endif
}

template const ElementwiseTable<float>& elementwise_avx2<float>();
template const ElementwiseTable<double>& elementwise_avx2<double>();

}  // namespace voxgrad::kernels::detail
