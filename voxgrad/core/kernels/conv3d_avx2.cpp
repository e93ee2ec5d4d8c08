// The AVX2 + FMA executors (this file is compiled with -mavx2 -mfma;
// conv3d.cpp calls into it only after checking the CPU supports both).

#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/conv3d_internal.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "voxgrad/core/kernels/conv3d_engine/executors.hpp"
#endif

namespace voxgrad::kernels::detail {

#if defined(__AVX2__) && defined(__FMA__)
using Avx2Arch = xsimd::fma3<xsimd::avx2>;
const IsaInfo kIsaAvx2 = isa_info_of<Avx2Arch>("avx2");

template <class T>
const ConvExecutors<T>& conv_executors_avx2() {
  static constexpr ConvExecutors<T> kTable = make_executors<T, Avx2Arch>();
  return kTable;
}
#else
// Built without the flags: the baseline executors stand in.
const IsaInfo kIsaAvx2 = {
    "generic",
    static_cast<int64_t>(sizeof(xsimd::batch<float, xsimd::default_arch>))};

template <class T>
const ConvExecutors<T>& conv_executors_avx2() {
  return conv_executors_generic<T>();
}
#endif

template const ConvExecutors<float>& conv_executors_avx2<float>();
template const ConvExecutors<double>& conv_executors_avx2<double>();

}  // namespace voxgrad::kernels::detail
