// The AVX-512 executors (this file is compiled with -mavx512f ...;
// conv3d.cpp calls into it only after checking the CPU supports AVX-512F).

#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/conv3d_internal.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/conv3d_engine/executors.hpp"
#endif

namespace voxgrad::kernels::detail {

#if defined(__AVX512F__) && defined(__FMA__)
const IsaInfo kIsaAvx512 = isa_info_of<xsimd::avx512f>("avx512");

template <class T>
const ConvExecutors<T>& conv_executors_avx512() {
  static constexpr ConvExecutors<T> kTable =
      make_executors<T, xsimd::avx512f>();
  return kTable;
}
#else
// Built without the flags: the baseline executors stand in.
const IsaInfo kIsaAvx512 = {
    "generic",
    static_cast<int64_t>(sizeof(xsimd::batch<float, xsimd::default_arch>))};

template <class T>
const ConvExecutors<T>& conv_executors_avx512() {
  return conv_executors_generic<T>();
}
#endif

template const ConvExecutors<float>& conv_executors_avx512<float>();
template const ConvExecutors<double>& conv_executors_avx512<double>();

}  // namespace voxgrad::kernels::detail
