// The AVX2 + FMA micro-kernels (this file is compiled with -mavx2 -mfma;
// conv3d.cpp calls into it only after checking the CPU supports both).

#include "core/kernels/conv3d_internal.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "core/kernels/conv3d_simd.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const MicroKernels<T>& microkernels_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  static constexpr MicroKernels<T> kTable =
      make_microkernels<T, xsimd::fma3<xsimd::avx2>>("avx2");
  return kTable;
#else
  return microkernels_generic<T>();  // built without the flags
#endif
}

template const MicroKernels<float>& microkernels_avx2<float>();
template const MicroKernels<double>& microkernels_avx2<double>();

}  // namespace voxgrad::kernels::detail
