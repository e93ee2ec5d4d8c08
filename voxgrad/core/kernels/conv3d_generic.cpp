// The baseline executors (compiled with the library's default flags: SSE2
// on x86-64, NEON on arm64); they run on any CPU.

#include "voxgrad/core/kernels/conv3d_engine/executors.hpp"

namespace voxgrad::kernels::detail {

const IsaInfo kIsaGeneric = isa_info_of<xsimd::default_arch>("generic");

template <class T>
const ConvExecutors<T>& conv_executors_generic() {
  static constexpr ConvExecutors<T> kTable =
      make_executors<T, xsimd::default_arch>();
  return kTable;
}
template const ConvExecutors<float>& conv_executors_generic<float>();
template const ConvExecutors<double>& conv_executors_generic<double>();

}  // namespace voxgrad::kernels::detail
