// The softmax and cross-entropy loops for AVX512 (this file is compiled
// with -mavx512f and friends; softmax.cpp calls into it only after checking the CPU
// supports it).

#include "voxgrad/core/kernels/softmax_table.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#define VOXGRAD_SOFTMAX_ARCH xsimd::avx512f
#define VOXGRAD_SOFTMAX_NS avx512
#include "voxgrad/core/kernels/softmax_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const SoftmaxTable<T>& softmax_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  return avx512::make_table<T>("avx512");
#else
  return softmax_generic<T>();  // built without the flags
#endif
}

template const SoftmaxTable<float>& softmax_avx512<float>();
template const SoftmaxTable<double>& softmax_avx512<double>();

}  // namespace voxgrad::kernels::detail
