#pragma once
// Row packing: copying (and phase-splitting) source rows into the packed
// layouts of NOTE [ Conv engine ] in conv3d_engine_impl.hpp.
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/microkernels.hpp"

namespace voxgrad::kernels::detail {
namespace {

// ---- packing ----------------------------------------------------------------

// The packers stream their source (rows, slices, channels in order):
// prefetch the n values kAhead bytes past p.
constexpr int64_t kAhead = 8192;
template <class T>
inline void prefetch_ahead(const T* p, int64_t n) {
#if defined(__x86_64__)
  const char* b = reinterpret_cast<const char*>(p) + kAhead;
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  for (int64_t o = 0; o < bytes; o += 64)
    _mm_prefetch(b + o, _MM_HINT_T0);
#else
  (void)p;
  (void)n;
#endif
}

// Copies n contiguous values.
template <class T, class A>
inline void copy_run(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
  int64_t i = 0;
  for (; i + L <= n; i += L)
    B::load_unaligned(src + i).store_unaligned(dst + i);
  for (; i < n; ++i)
    dst[i] = src[i];
}

#if defined(__AVX512F__)
// Bits [a, b) of a 16-lane mask (clipped to the lanes).
inline __mmask16 lane_range(int64_t a, int64_t b) {
  a = iclamp(a, 0, 16);
  b = iclamp(b, a, 16);
  return static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
}

// gather_row for float with AVX-512: masked loads read nothing outside
// [lo, hi) (and cannot fault), so the padding costs no extra pass.
inline void gather_row_avx512(
    float* dst,
    const float* src,
    int64_t n,
    int64_t step,
    int64_t off,
    int64_t lo,
    int64_t hi) {
  const __m512i even = _mm512_setr_epi32(
      0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const int64_t a = lo - j0, b = hi - j0;
    __m512 v;
    if (step == 1) {
      v = _mm512_maskz_loadu_ps(lane_range(a, b), src + off + j0);
    } else {  // step 2: the even lanes of two vectors
      const float* s = src + off + 2 * j0;
      const __m512 v0 =
          _mm512_maskz_loadu_ps(lane_range(2 * a, 2 * b) & 0x5555, s);
      const __m512 v1 = _mm512_maskz_loadu_ps(
          lane_range(2 * a - 16, 2 * b - 16) & 0x5555, s + 16);
      v = _mm512_permutex2var_ps(v0, even, v1);
    }
    if (n - j0 >= 16)
      _mm512_storeu_ps(dst + j0, v);
    else
      _mm512_mask_storeu_ps(dst + j0, lane_range(0, n - j0), v);
  }
}
#endif

// dst[j] = src[step*j + off] for j in [lo, hi), zero elsewhere in [0, n).
template <class T, class A>
inline void gather_row(
    T* dst,
    const T* src,
    int64_t n,
    int64_t step,
    int64_t off,
    int64_t lo,
    int64_t hi) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    if (step <= 2) {
      gather_row_avx512(dst, src, n, step, off, lo, hi);
      return;
    }
  }
#endif
  for (int64_t j = 0; j < lo; ++j)
    dst[j] = T(0);
  if (step == 1) {
    copy_run<T, A>(dst + lo, src + lo + off, hi - lo);
  } else {
    for (int64_t j = lo; j < hi; ++j)
      dst[j] = src[step * j + off];
  }
  for (int64_t j = hi; j < n; ++j)
    dst[j] = T(0);
}

// Packs HQ rows of NW values, `pitch` apart: row hq holds gather_row of
// source row h0 + hstep*hq (zeros if that row is outside [0, S1)).
template <class T, class A>
void pack_region(
    T* reg,
    const T* splane,
    int64_t S1,
    int64_t S2,
    int64_t HQ,
    int64_t NW,
    int64_t pitch,
    int64_t h0,
    int64_t hstep,
    int64_t wstep,
    int64_t off,
    int64_t lo,
    int64_t hi) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    constexpr int64_t kMaxChunks = 8;
    const int64_t nch = cdiv(NW, 16);
    if (wstep <= 2 && nch <= kMaxChunks) {
      // The masks depend on the chunk only: hoist them out of the rows.
      __mmask16 m0[kMaxChunks], m1[kMaxChunks], mst[kMaxChunks];
      for (int64_t c = 0; c < nch; ++c) {
        const int64_t a = lo - 16 * c, b = hi - 16 * c;
        m0[c] =
            wstep == 1 ? lane_range(a, b) : lane_range(2 * a, 2 * b) & 0x5555;
        m1[c] = lane_range(2 * a - 16, 2 * b - 16) & 0x5555;
        mst[c] = lane_range(0, NW - 16 * c);
      }
      const __m512i even = _mm512_setr_epi32(
          0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512 zero = _mm512_setzero_ps();
      for (int64_t hq = 0; hq < HQ; ++hq) {
        const int64_t h = h0 + hstep * hq;
        float* row = reg + hq * pitch;
        const bool valid = h >= 0 && h < S1;
        const float* s = splane + (valid ? h : 0) * S2 + off;
        if (valid)
          prefetch_ahead(splane + h * S2, S2);
        for (int64_t c = 0; c < nch; ++c) {
          __m512 v = zero;
          if (valid) {
            if (wstep == 1) {
              v = _mm512_maskz_loadu_ps(m0[c], s + 16 * c);
            } else {
              const __m512 v0 = _mm512_maskz_loadu_ps(m0[c], s + 32 * c);
              const __m512 v1 = _mm512_maskz_loadu_ps(m1[c], s + 32 * c + 16);
              v = _mm512_permutex2var_ps(v0, even, v1);
            }
          }
          if (mst[c] == 0xFFFF)
            _mm512_storeu_ps(row + 16 * c, v);
          else
            _mm512_mask_storeu_ps(row + 16 * c, mst[c], v);
        }
      }
      return;
    }
  }
#endif
  for (int64_t hq = 0; hq < HQ; ++hq) {
    const int64_t h = h0 + hstep * hq;
    T* row = reg + hq * pitch;
    if (h < 0 || h >= S1) {
      std::memset(row, 0, static_cast<size_t>(NW) * sizeof(T));
    } else {
      prefetch_ahead(splane + h * S2, S2);
      gather_row<T, A>(row, splane + h * S2, NW, wstep, off, lo, hi);
    }
  }
}

}  // namespace
}  // namespace voxgrad::kernels::detail
