// The resampling loop for AVX-512 (this file is compiled with -mavx512f ...;
// resample3d.cpp calls into it only after checking the CPU supports it).

#include "voxgrad/core/kernels/resample3d_table.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/resample3d_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ResampleTable<T>& resample3d_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr ResampleTable<T> kTable =
      make_resample3d_table<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return resample3d_generic<T>();  // built without the flags
#endif
}

template const ResampleTable<float>& resample3d_avx512<float>();
template const ResampleTable<double>& resample3d_avx512<double>();

}  // namespace voxgrad::kernels::detail
