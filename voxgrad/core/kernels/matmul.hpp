#pragma once
// Batched matrix product on contiguous row-major operands:
//   c[b] = a[b] (m x k) @ bm[b] (k x n), b < batch.
// Parallel over (batch, row blocks); each c row is summed in a fixed order,
// so results do not depend on the thread count.

#include <cstdint>

namespace voxgrad::kernels {

template <class T>
void matmul(
    int64_t batch,
    int64_t m,
    int64_t k,
    int64_t n,
    const T* a,
    const T* b,
    T* c);

}  // namespace voxgrad::kernels
