// The GEMM for AVX2 + FMA (this file is compiled with -mavx2 -mfma;
// matmul.cpp calls into it only after checking the CPU supports both).

#include "voxgrad/core/kernels/matmul_table.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "voxgrad/core/kernels/matmul_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const MatmulTable<T>& matmul_avx2() {
#if defined(__AVX2__) && defined(__FMA__)
  static constexpr MatmulTable<T> kTable =
      make_matmul_table<T, xsimd::fma3<xsimd::avx2>>("avx2");
  return kTable;
#else
  return matmul_generic<T>();  // built without the flags
#endif
}

template const MatmulTable<float>& matmul_avx2<float>();
template const MatmulTable<double>& matmul_avx2<double>();

}  // namespace voxgrad::kernels::detail
