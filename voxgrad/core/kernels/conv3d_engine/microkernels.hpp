#pragma once
// The register-blocked micro-kernels of the conv engines (gather and
// weight gradient) and their tables indexed by block shape.
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/util.hpp"

namespace voxgrad::kernels::detail {
namespace {

enum : int { kAccum = 1, kBias = 2, kStream = 4 };

/// For r < MR, v < NV, lanes l:
///   ccol[v][r*ldc + l] (+)= sum_k a[k*MR + r] * bcol[v][boff[k] + l]
/// (+ bias[r]). Each element is one chain of multiply-adds over k in order.
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

/// For r < MR, q < NC and lanes l: acc[r*ld_acc + q*L + l] +=
///   sum over planes j < np and columns v < nvec of
///   dy[j][r*ld_dy + v*L + l] * b[j][boff[q] + col[v] + l].
template <class T, class A, int MR, int NC>
void wgrad_kernel(
    int64_t np,
    const T* const* dyp,
    const T* const* bp,
    int64_t nvec,
    const int32_t* __restrict col,
    int64_t ld_dy,
    const int32_t* __restrict boff,
    T* __restrict acc,
    int64_t ld_acc) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
  B c[MR][NC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < NC; ++q)
      c[r][q] = B::load_unaligned(acc + r * ld_acc + q * L);
  for (int64_t j = 0; j < np; ++j) {
    const T* d0 = dyp[j];
    const T* bq[NC];
#pragma GCC unroll 16
    for (int q = 0; q < NC; ++q)
      bq[q] = bp[j] + boff[q];
    for (int64_t v = 0; v < nvec; ++v) {
      const int64_t o = col[v];
      B bv[NC];
#pragma GCC unroll 16
      for (int q = 0; q < NC; ++q)
        bv[q] = B::load_unaligned(bq[q] + o);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const B d = B::load_unaligned(d0 + r * ld_dy + v * L);
#pragma GCC unroll 16
        for (int q = 0; q < NC; ++q)
          c[r][q] = madd(d, bv[q], c[r][q]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < NC; ++q)
      c[r][q].store_unaligned(acc + r * ld_acc + q * L);
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
template <class T>
using WgradFn = void (*)(
    int64_t,
    const T* const*,
    const T* const*,
    int64_t,
    const int32_t*,
    int64_t,
    const int32_t*,
    T*,
    int64_t);

// Tables of every register block, indexed [MR][NV] (entries that would not
// fit in registers are null and never chosen).
template <class T, class A>
struct KernelTable {
  using Tn = Tune<T, A>;
  GemmFn<T> gemm[Tn::kMR + 1][Tn::kNV + 1] = {};
  WgradFn<T> wgrad[Tn::kWMR + 1][Tn::kWNC + 1] = {};
};

template <class T, class A, int MR, int... NVs>
constexpr void fill_gemm_row(
    KernelTable<T, A>& t, std::integer_sequence<int, NVs...>) {
  ((t.gemm[MR][NVs + 1] = (NVs + 1 <= Tune<T, A>::nv_max(MR))
                              ? &gemm_kernel<T, A, MR, NVs + 1>
                              : nullptr),
   ...);
}
template <class T, class A, int MR, int... NCs>
constexpr void fill_wgrad_row(
    KernelTable<T, A>& t, std::integer_sequence<int, NCs...>) {
  ((t.wgrad[MR][NCs + 1] = &wgrad_kernel<T, A, MR, NCs + 1>), ...);
}
template <class T, class A, int... MRs, int... WMRs>
constexpr KernelTable<T, A> make_kernel_table(
    std::integer_sequence<int, MRs...>, std::integer_sequence<int, WMRs...>) {
  using Tn = Tune<T, A>;
  KernelTable<T, A> t;
  (fill_gemm_row<T, A, MRs + 1>(t, std::make_integer_sequence<int, Tn::kNV>{}),
   ...);
  (fill_wgrad_row<T, A, WMRs + 1>(
       t, std::make_integer_sequence<int, Tn::kWNC>{}),
   ...);
  return t;
}
template <class T, class A>
const KernelTable<T, A>& kernel_table() {
  using Tn = Tune<T, A>;
  static constexpr KernelTable<T, A> kTable = make_kernel_table<T, A>(
      std::make_integer_sequence<int, Tn::kMR>{},
      std::make_integer_sequence<int, Tn::kWMR>{});
  return kTable;
}

}  // namespace
}  // namespace voxgrad::kernels::detail
