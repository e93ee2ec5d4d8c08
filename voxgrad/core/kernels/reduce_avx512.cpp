// The reduction loops for AVX-512 (this file is compiled with -mavx512f ...;
// reduce.cpp calls into it only after checking the CPU supports it).

#include "voxgrad/core/kernels/reduce_table.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/reduce_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ReduceTable<T>& reduce_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr ReduceTable<T> kTable =
      make_reduce_table<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return reduce_generic<T>();  // built without the flags
#endif
}

template const ReduceTable<float>& reduce_avx512<float>();
template const ReduceTable<double>& reduce_avx512<double>();

}  // namespace voxgrad::kernels::detail
