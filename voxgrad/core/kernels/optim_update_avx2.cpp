// The optimizer updates for AVX2 (this file is compiled with -mavx2 -mfma;
// optim_update.cpp calls into it only after checking the CPU supports it).
// xsimd::avx2, not fma3<avx2>: no multiply-add may fuse here.

#include "voxgrad/core/kernels/optim_update_table.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "voxgrad/core/kernels/optim_update_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const OptimTable<T>& optim_update_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  static constexpr OptimTable<T> kTable =
      make_optim_update_table<T, xsimd::avx2>("avx2");
  return kTable;
#else
  return optim_update_generic<T>();  // built without the flags
#endif
}

template const OptimTable<float>& optim_update_avx2<float>();
template const OptimTable<double>& optim_update_avx2<double>();

}  // namespace voxgrad::kernels::detail
