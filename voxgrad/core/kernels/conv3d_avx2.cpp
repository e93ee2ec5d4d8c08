// The AVX2 + FMA engines (this file is compiled with -mavx2 -mfma;
// conv3d.cpp calls into it only after checking the CPU supports both).

#include "voxgrad/core/kernels/conv3d_internal.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "voxgrad/core/kernels/conv3d_engine_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ConvEngines<T>& conv_engines_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  static constexpr ConvEngines<T> kTable =
      make_engines<T, xsimd::fma3<xsimd::avx2>>("avx2");
  return kTable;
#else
  return conv_engines_generic<T>();  // built without the flags
#endif
}

template const ConvEngines<float>& conv_engines_avx2<float>();
template const ConvEngines<double>& conv_engines_avx2<double>();

}  // namespace voxgrad::kernels::detail
