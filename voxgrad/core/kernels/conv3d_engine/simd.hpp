#pragma once
// SIMD primitives the executors share: fused multiply-add, non-temporal
// stores, AVX-512 lane masks, copies. Internal linkage: compiled once per
// instruction set (see conv3d_internal.hpp).

#include <xsimd/xsimd.hpp>

#include <cstdint>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "voxgrad/core/kernels/conv3d_engine/index_math.hpp"

namespace voxgrad::kernels::detail {
namespace {

/// Values per vector of T on architecture A.
template <class T, class A>
constexpr int64_t kLanes = static_cast<int64_t>(xsimd::batch<T, A>::size);

/// True for AVX-512 float, which has hand-written packers.
template <class T, class A>
constexpr bool kAvx512Float =
    sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>;

/// a * b + c, fused where the instruction set has it (xsimd 8.1 falls back
/// to two roundings for avx512f, so the instruction is used directly).
template <class T, class A>
inline xsimd::batch<T, A> madd(
    const xsimd::batch<T, A>& a,
    const xsimd::batch<T, A>& b,
    const xsimd::batch<T, A>& c) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64) {
    if constexpr (std::is_same_v<T, float>)
      return _mm512_fmadd_ps(a, b, c);
    else
      return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

/// A store that bypasses the caches (p aligned to the vector size).
template <class T, class A>
inline void store_stream(T* p, const xsimd::batch<T, A>& v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(v) == 64) {
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(p, v);
    else
      _mm512_stream_pd(p, v);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(v) == 32) {
    if constexpr (std::is_same_v<T, float>)
      _mm256_stream_ps(p, v);
    else
      _mm256_stream_pd(p, v);
    return;
  }
#endif
  v.store_aligned(p);
}

/// Orders the non-temporal stores before anything after it.
inline void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

/// dst[i] = src[i] for i < n.
template <class T, class A>
inline void copy_run(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = kLanes<T, A>;
  int64_t i = 0;
  for (; i + L <= n; i += L)
    B::load_unaligned(src + i).store_unaligned(dst + i);
  for (; i < n; ++i)
    dst[i] = src[i];
}

/// dst[i] = src[i] for i < n, with stores that bypass the caches.
template <class T, class A>
void stream_copy(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = kLanes<T, A>;
  int64_t i = 0;
  while (i < n && reinterpret_cast<uintptr_t>(dst + i) % sizeof(B) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + L <= n; i += L)
    store_stream<T, A>(dst + i, B::load_unaligned(src + i));
  for (; i < n; ++i)
    dst[i] = src[i];
}

#if defined(__AVX512F__)
/// Bits [a, b) of a 16-lane mask (clipped to the lanes).
inline __mmask16 lane_range(int64_t a, int64_t b) {
  a = iclamp(a, 0, 16);
  b = iclamp(b, a, 16);
  return static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
}
#endif

}  // namespace
}  // namespace voxgrad::kernels::detail
