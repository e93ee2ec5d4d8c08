// The GEMM for AVX-512 (this file is compiled with -mavx512f ...;
// matmul.cpp calls into it only after checking the CPU supports it).

#include "voxgrad/core/kernels/matmul_table.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "voxgrad/core/kernels/matmul_impl.hpp"
#endif

namespace voxgrad::kernels::detail {

template <class T>
const MatmulTable<T>& matmul_avx512() {
#if defined(__AVX512F__) && defined(__FMA__)
  static constexpr MatmulTable<T> kTable =
      make_matmul_table<T, xsimd::avx512f>("avx512");
  return kTable;
#else
  return matmul_generic<T>();  // built without the flags
#endif
}

template const MatmulTable<float>& matmul_avx512<float>();
template const MatmulTable<double>& matmul_avx512<double>();

}  // namespace voxgrad::kernels::detail
