#include "voxgrad/core/kernels/matmul.hpp"

#include <algorithm>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {

// c_row = sum_p a[i, p] * b_row_p: an axpy over n per p, which vectorises over
// the contiguous rows of b and c. Columns are processed in panels so a panel
// of c stays in L1 while p sweeps.
template <class T>
void matmul(
    int64_t batch,
    int64_t m,
    int64_t k,
    int64_t n,
    const T* a,
    const T* b,
    T* c) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  constexpr int64_t kPanel = 256;
  const int64_t grain =
      std::max<int64_t>(1, 65536 / std::max<int64_t>(1, k * n));
  parallel_for(0, batch * m, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t bi = r / m, i = r % m;
      const T* arow = a + (bi * m + i) * k;
      const T* bb = b + bi * k * n;
      T* crow = c + (bi * m + i) * n;
      for (int64_t j0 = 0; j0 < n; j0 += kPanel) {
        const int64_t j1 = std::min(n, j0 + kPanel);
        std::fill(crow + j0, crow + j1, T(0));
        for (int64_t p = 0; p < k; ++p) {
          const T av = arow[p];
          const B va(av);
          const T* brow = bb + p * n;
          int64_t j = j0;
          for (; j + W <= j1; j += W)
            (va * B::load_unaligned(brow + j) + B::load_unaligned(crow + j))
                .store_unaligned(crow + j);
          for (; j < j1; ++j)
            crow[j] = av * brow[j] + crow[j];
        }
      }
    }
  });
}

template void matmul<float>(
    int64_t, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void matmul<double>(
    int64_t, int64_t, int64_t, int64_t, const double*, const double*, double*);

}  // namespace voxgrad::kernels
