// The AVX-512 engines (this file is compiled with -mavx512f ...; conv3d.cpp
// calls into it only after checking the CPU supports AVX-512F).

#include "voxgrad/core/kernels/conv3d_internal.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/conv3d_engine_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const ConvEngines<T>& conv_engines_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr ConvEngines<T> kTable =
      make_engines<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return conv_engines_generic<T>();  // built without the flags
#endif
}

template const ConvEngines<float>& conv_engines_avx512<float>();
template const ConvEngines<double>& conv_engines_avx512<double>();

}  // namespace voxgrad::kernels::detail
