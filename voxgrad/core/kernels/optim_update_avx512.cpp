// The optimizer updates for AVX-512 (this file is compiled with -mavx512f ...;
// optim_update.cpp calls into it only after checking the CPU supports it).

#include "voxgrad/core/kernels/optim_update_table.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/optim_update_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const OptimTable<T>& optim_update_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr OptimTable<T> kTable =
      make_optim_update_table<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return optim_update_generic<T>();  // built without the flags
#endif
}

template const OptimTable<float>& optim_update_avx512<float>();
template const OptimTable<double>& optim_update_avx512<double>();

}  // namespace voxgrad::kernels::detail
