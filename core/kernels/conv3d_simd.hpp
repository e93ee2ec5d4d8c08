#pragma once
// SIMD micro-kernels of the conv3d kernels, templated on an xsimd
// architecture. Included by exactly one translation unit per instruction set
// (conv3d.cpp for the baseline, conv3d_avx2.cpp, conv3d_avx512.cpp), each
// compiled with its own -m flags. Everything here has internal linkage, so
// the linker can never merge an AVX-512 copy of a helper into baseline code.
// Keep standard-library templates out of this file for the same reason.

#include <xsimd/xsimd.hpp>

#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/kernels/conv3d_internal.hpp"

namespace voxgrad::kernels::detail {
namespace {

// xsimd 8.1 has no fused multiply-add kernel for avx512f (it falls back to
// x*y+z); use the instruction directly there.
template <class T, class A>
inline xsimd::batch<T, A> madd(
    const xsimd::batch<T, A>& a,
    const xsimd::batch<T, A>& b,
    const xsimd::batch<T, A>& c) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    if constexpr (std::is_same_v<T, float>)
      return _mm512_fmadd_ps(a, b, c);
    else
      return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

// A register block of MR rows x 2 vectors. Each c element is one chain of
// multiply-adds over k in order, whatever MR and the caller's tiling are.
// Later speed work (wider NR on AVX-512, packed dy) changes only this file.
template <class T, class A, int MR>
void gemm_tile(
    int64_t K,
    const T* a,
    const T* b,
    int64_t ldb,
    T* c,
    int64_t ldc,
    bool accumulate) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
  B c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    c0[r] = accumulate ? B::load_unaligned(c + r * ldc) : B(T(0));
    c1[r] = accumulate ? B::load_unaligned(c + r * ldc + L) : B(T(0));
  }
  for (int64_t k = 0; k < K; ++k) {
    const B b0 = B::load_unaligned(b + k * ldb);
    const B b1 = B::load_unaligned(b + k * ldb + L);
    const T* ak = a + k * kMaxMR;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const B ar(ak[r]);
      c0[r] = madd(ar, b0, c0[r]);
      c1[r] = madd(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    c0[r].store_unaligned(c + r * ldc);
    c1[r].store_unaligned(c + r * ldc + L);
  }
}

// The weight-gradient block: MR output channels x kWgradNC weight entries,
// vectorised over positions; lanes are summed by the caller.
template <class T, class A, int MR>
void wgrad_tile(
    int64_t P,
    const T* dy,
    int64_t ld_dy,
    const T* b,
    int64_t ldb,
    T* acc,
    int64_t ld_acc) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
  constexpr int NC = kWgradNC;
  B c[MR][NC];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NC; ++q)
      c[r][q] = B::load_unaligned(acc + r * ld_acc + q * L);
  for (int64_t p = 0; p < P; p += L) {
    B bv[NC];
#pragma GCC unroll 8
    for (int q = 0; q < NC; ++q)
      bv[q] = B::load_unaligned(b + q * ldb + p);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const B d = B::load_unaligned(dy + r * ld_dy + p);
#pragma GCC unroll 8
      for (int q = 0; q < NC; ++q)
        c[r][q] = madd(d, bv[q], c[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < NC; ++q)
      c[r][q].store_unaligned(acc + r * ld_acc + q * L);
}

template <class T, class A>
constexpr MicroKernels<T> make_microkernels(const char* name) {
  return MicroKernels<T>{
      name,
      static_cast<int64_t>(xsimd::batch<T, A>::size),
      2 * static_cast<int64_t>(xsimd::batch<T, A>::size),
      {nullptr,
       &gemm_tile<T, A, 1>,
       &gemm_tile<T, A, 2>,
       &gemm_tile<T, A, 3>,
       &gemm_tile<T, A, 4>,
       &gemm_tile<T, A, 5>,
       &gemm_tile<T, A, 6>},
      {nullptr,
       &wgrad_tile<T, A, 1>,
       &wgrad_tile<T, A, 2>,
       &wgrad_tile<T, A, 3>}};
}

static_assert(kMaxMR == 6 && kWgradMR == 3, "make_microkernels lists every MR");

}  // namespace
}  // namespace voxgrad::kernels::detail
