#pragma once
// Matrix products: a packed, cache-blocked GEMM with register-blocked FMA
// micro-kernels per instruction set (NOTE [ GEMM ] in matmul_impl.hpp).
// Raw pointers and explicit strides; no autograd.

#include <cstdint>

namespace voxgrad::kernels {

/// C[b] (m x n) = op(A[b]) (m x k) @ op(B[b]) (k x n), b < batch, where
///   op(A)(i, p) = a[b * stride_a + i * lda + p]   (trans_a: p * lda + i)
///   op(B)(p, j) = b[b * stride_b + p * ldb + j]   (trans_b: j * ldb + p)
///   C(i, j)     = c[b * stride_c + i * ldc + j]
/// With `accumulate`, C += op(A) @ op(B) instead. A stride of 0 broadcasts
/// one matrix to every batch entry. C must not overlap A or B.
///
/// Every C element is summed over k in one fixed order (blocks of 256 in
/// order, each an FMA chain), and work is split only over C: results are
/// bit-identical for any thread count, and the same on AVX2 and AVX-512.
template <class T>
struct GemmArgs {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  const T* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  bool trans_a = false;
  const T* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  bool trans_b = false;
  T* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  bool accumulate = false;
  // false: no "matmul" profiler event, because the caller's event covers
  // this product (conv's gemm/im2col path, whose time is the conv's).
  bool profile = true;
};

///   GemmArgs<float> g; g.m = 16; g.n = 128; g.k = 4096; ...; gemm(g);
template <class T>
void gemm(const GemmArgs<T>& args);

/// Contiguous row-major operands: c[b] = a[b] (m x k) @ bm[b] (k x n).
template <class T>
void matmul(
    int64_t batch,
    int64_t m,
    int64_t k,
    int64_t n,
    const T* a,
    const T* b,
    T* c);

/// The instruction set gemm() uses now ("generic", "avx2", "avx512").
const char* matmul_isa();

}  // namespace voxgrad::kernels
