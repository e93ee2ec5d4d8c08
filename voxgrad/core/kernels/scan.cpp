#include "voxgrad/core/kernels/scan.hpp"

#include <algorithm>
#include <vector>

#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {

Tensor cumsum(const Tensor& x, int64_t axis) {
  Tensor src = x;
  if (!x.is_contiguous()) {
    src = empty(x.shape(), x.dtype());
    copy(x, src);
  }
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() == 0)
    return out;
  // x as (outer, n, inner), contiguous.
  int64_t outer = 1, inner = 1;
  const int64_t n = x.dim() == 0 ? 1 : x.size(axis);
  for (int64_t a = 0; a < axis; ++a)
    outer *= x.size(a);
  for (int64_t a = axis + 1; a < x.dim(); ++a)
    inner *= x.size(a);
  // Work units: one outer index and a block of inner positions, all n steps.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t grain =
      std::max<int64_t>(1, 16384 / (n * std::min(inner, kBlock)));
  dispatch(x.dtype(), [&]<class T>() {
    const T* in = src.data<T>();
    T* o = out.mutable_data<T>();
    parallel_for(0, outer * blocks, grain, [&](int64_t u0, int64_t u1) {
      double acc[kBlock];
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t b = u / blocks, i0 = (u % blocks) * kBlock;
        const int64_t m = std::min(kBlock, inner - i0);
        const T* p = in + b * n * inner + i0;
        T* q = o + b * n * inner + i0;
        std::fill(acc, acc + m, 0.0);
        for (int64_t j = 0; j < n; ++j, p += inner, q += inner) {
          for (int64_t i = 0; i < m; ++i) {
            acc[i] += static_cast<double>(p[i]);
            q[i] = static_cast<T>(acc[i]);
          }
        }
      }
    });
  });
  return out;
}

}  // namespace voxgrad::kernels
