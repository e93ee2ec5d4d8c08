// The softmax and cross-entropy loops for AVX2 (this file is compiled
// with -mavx2 -mfma; softmax.cpp calls into it only after checking the CPU
// supports it).

#include "voxgrad/core/kernels/softmax_table.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#define VOXGRAD_SOFTMAX_ARCH xsimd::avx2
#define VOXGRAD_SOFTMAX_NS avx2
#include "voxgrad/core/kernels/softmax_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const SoftmaxTable<T>& softmax_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  return avx2::make_table<T>("avx2");
#else
  return softmax_generic<T>();  // built without the flags
#endif
}

template const SoftmaxTable<float>& softmax_avx2<float>();
template const SoftmaxTable<double>& softmax_avx2<double>();

}  // namespace voxgrad::kernels::detail
