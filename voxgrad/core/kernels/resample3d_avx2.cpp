// The resampling loop for AVX2 (this file is compiled with -mavx2 -mfma;
// resample3d.cpp calls into it only after checking the CPU supports it).

#include "voxgrad/core/kernels/resample3d_table.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "voxgrad/core/kernels/resample3d_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ResampleTable<T>& resample3d_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  static constexpr ResampleTable<T> kTable =
      make_resample3d_table<T, xsimd::avx2>("avx2");
  return kTable;
#else
  return resample3d_generic<T>();  // built without the flags
#endif
}

template const ResampleTable<float>& resample3d_avx2<float>();
template const ResampleTable<double>& resample3d_avx2<double>();

}  // namespace voxgrad::kernels::detail
