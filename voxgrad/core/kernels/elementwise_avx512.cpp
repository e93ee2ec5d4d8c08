// The elementwise loops for AVX-512 (this file is compiled with -mavx512f ...;
// elementwise.cpp calls into it only after checking the CPU supports it).

#include "voxgrad/core/kernels/elementwise_table.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/elementwise_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ElementwiseTable<T>& elementwise_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr ElementwiseTable<T> kTable =
      make_elementwise_table<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return elementwise_generic<T>();  // built without the flags
#endif
}

template const ElementwiseTable<float>& elementwise_avx512<float>();
template const ElementwiseTable<double>& elementwise_avx512<double>();

}  // namespace voxgrad::kernels::detail
