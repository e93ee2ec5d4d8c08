#pragma once
// The gather's register-blocked micro-kernel and its table by block shape.
// Internal linkage: compiled once per instruction set.

#include <utility>

#include "voxgrad/core/kernels/conv3d_engine/blocking.hpp"
#include "voxgrad/core/kernels/conv3d_engine/simd.hpp"

namespace voxgrad::kernels::detail {
namespace {

enum : int { kAccum = 1, kBias = 2, kStream = 4 };

/// For rows r < MR, columns v < NV and lanes l:
///   ccol[v][r*ldc + l] (+)= sum over k < K of a[k*MR + r] * bcol[v][boff[k] + l]
/// then + bias[r] (kBias); kAccum adds to what ccol holds, kStream stores
/// non-temporally. Each element is one chain of multiply-adds over k in
/// order (then the bias), whatever MR and NV are.
template <class T, class A, int MR, int NV>
void gemm_kernel(
    int64_t K,
    const T* __restrict a,
    const T* const* bcol,
    const int32_t* __restrict boff,
    T* const* ccol,
    int64_t ldc,
    int flags,
    const T* __restrict bias) {
  using B = xsimd::batch<T, A>;
  const T* bc[NV];
  T* cc[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    bc[v] = bcol[v];
    cc[v] = ccol[v];
  }
  B acc[MR][NV];
  if (flags & kAccum) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = B::load_unaligned(cc[v] + r * ldc);
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = B(T(0));
  }
  for (int64_t k = 0; k < K; ++k) {
    const int64_t o = boff[k];
    B bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      bv[v] = B::load_unaligned(bc[v] + o);
    const T* ak = a + k * MR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const B ar(ak[r]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = madd(ar, bv[v], acc[r][v]);
    }
  }
  if (flags & kBias) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const B br(bias[r]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = acc[r][v] + br;
    }
  }
  if (flags & kStream) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        store_stream<T, A>(cc[v] + r * ldc, acc[r][v]);
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v].store_unaligned(cc[v] + r * ldc);
  }
}

template <class T>
using GemmFn = void (*)(
    int64_t,
    const T*,
    const T* const*,
    const int32_t*,
    T* const*,
    int64_t,
    int,
    const T*);

/// gemm_kernel for every block [MR][NV] that fits the registers (others
/// are null; the planner never chooses them).
template <class T, class A>
struct GemmTable {
  static constexpr Blocking kB =
      blocking_for(static_cast<int64_t>(sizeof(xsimd::batch<T, A>)));
  GemmFn<T> fn[kB.mr_max + 1][kB.nv_cap + 1] = {};
};

template <class T, class A, int MR, int... NVs>
constexpr void fill_gemm_row(
    GemmTable<T, A>& t, std::integer_sequence<int, NVs...>) {
  constexpr Blocking kB = GemmTable<T, A>::kB;
  ((t.fn[MR][NVs + 1] =
        (NVs + 1 <= kB.nv_max(MR)) ? &gemm_kernel<T, A, MR, NVs + 1> : nullptr),
   ...);
}
template <class T, class A, int... MRs>
constexpr GemmTable<T, A> make_gemm_table(std::integer_sequence<int, MRs...>) {
  constexpr Blocking kB = GemmTable<T, A>::kB;
  GemmTable<T, A> t;
  (fill_gemm_row<T, A, MRs + 1>(
       t, std::make_integer_sequence<int, static_cast<int>(kB.nv_cap)>{}),
   ...);
  return t;
}
template <class T, class A>
const GemmTable<T, A>& gemm_table() {
  static constexpr GemmTable<T, A> kTable = make_gemm_table<T, A>(
      std::make_integer_sequence<
          int, static_cast<int>(GemmTable<T, A>::kB.mr_max)>{});
  return kTable;
}

}  // namespace
}  // namespace voxgrad::kernels::detail
