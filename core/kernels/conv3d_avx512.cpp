// The AVX-512 micro-kernels (this file is compiled with -mavx512f ...;
// conv3d.cpp calls into it only after checking the CPU supports AVX-512F).

#include "core/kernels/conv3d_internal.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "core/kernels/conv3d_simd.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const MicroKernels<T>& microkernels_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr MicroKernels<T> kTable =
      make_microkernels<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return microkernels_generic<T>();  // built without the flags
#endif
}

template const MicroKernels<float>& microkernels_avx512<float>();
template const MicroKernels<double>& microkernels_avx512<double>();

}  // namespace voxgrad::kernels::detail
