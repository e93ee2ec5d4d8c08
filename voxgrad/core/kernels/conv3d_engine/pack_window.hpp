#pragma once
// Packing a task's window of source slices, the tap offsets into it, and the
// streamed copies the engines write their results with.
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/plan.hpp"

namespace voxgrad::kernels::detail {
namespace {

// Whether pack_slice_halo handles this layout: AVX-512 float, width
// stride 1 or 2 with all its phases used, rows of at most 8 vectors.
template <class T, class A>
bool halo_fast(const GroupPlan& gp) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>)
    return (gp.sw == 1 || (gp.sw == 2 && gp.n_rw == 2)) && gp.LW <= 128 &&
           gp.n_rho == gp.sh && gp.sh <= 8;
#endif
  (void)gp;
  return false;
}

// One source slice in the halo layout, reading the source rows in order,
// each once: every packed row (height phase, hq) comes from one source row,
// and with width stride 2 both width phases are split from it in one pass.
template <class T, class A>
void pack_slice_halo(
    const GroupPlan& gp, const T* splane, int64_t S1, int64_t S2, T* dst) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    const __m512i even = _mm512_setr_epi32(
        0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t sh = gp.sh, sw = gp.sw, LW = gp.LW;
    const int64_t nch = cdiv(LW, 16);
    // Source columns of chunk c start at sw*(qw0 + 16c) (+ phase); the
    // loads are masked to the columns inside [0, S2).
    __mmask16 m0[8], m1[8], mst[8];
    for (int64_t c = 0; c < nch; ++c) {
      const int64_t base = sw * (gp.qw0 + 16 * c);
      m0[c] = lane_range(-base, S2 - base);
      m1[c] = lane_range(-base - 16, S2 - base - 16);
      mst[c] = lane_range(0, LW - 16 * c);
    }
    // Where each width phase goes: phase value r -> subrow index.
    int64_t sub[2] = {0, 0};
    for (int64_t j = 0; j < gp.n_rw; ++j)
      sub[gp.rw[j]] = j;
    // Height phase value r -> its index in the layout.
    int64_t hidx[8] = {};
    for (int64_t i = 0; i < gp.n_rho && gp.rho[i] < 8; ++i)
      hidx[gp.rho[i]] = i;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t hq = 0; hq < gp.HQ; ++hq)
      for (int64_t r = 0; r < sh; ++r) {
        const int64_t h = sh * (hq + gp.qh0) + r;
        float* row = dst + (hidx[r] * gp.HQ + hq) * gp.RP;
        const bool valid = h >= 0 && h < S1;
        const float* srow = splane + (valid ? h : 0) * S2 + sw * gp.qw0;
        if (valid)
          prefetch_ahead(splane + h * S2, S2);
        for (int64_t c = 0; c < nch; ++c) {
          if (sw == 1) {
            const __m512 v =
                valid ? _mm512_maskz_loadu_ps(m0[c], srow + 16 * c) : zero;
            _mm512_mask_storeu_ps(row + 16 * c, mst[c], v);
          } else {
            __m512 e = zero, o = zero;
            if (valid) {
              const __m512 v0 = _mm512_maskz_loadu_ps(m0[c], srow + 32 * c);
              const __m512 v1 =
                  _mm512_maskz_loadu_ps(m1[c], srow + 32 * c + 16);
              e = _mm512_permutex2var_ps(v0, even, v1);
              o = _mm512_permutex2var_ps(v0, odd, v1);
            }
            _mm512_mask_storeu_ps(row + sub[0] * LW + 16 * c, mst[c], e);
            _mm512_mask_storeu_ps(row + sub[1] * LW + 16 * c, mst[c], o);
          }
        }
      }
    return;
  }
#endif
  (void)gp;
  (void)splane;
  (void)S1;
  (void)S2;
  (void)dst;
}

// Packs the window of a group: channels [c0, c0+cc) of one sample, source
// slices [s_lo, s_lo + nsl) (those inside the source), into
// buf[c][slice][...] (cc * nsl * gp.cs values; see GroupPlan).
template <class T, class A>
void pack_window(
    const GroupPlan& gp,
    const T* src_n,
    const int64_t* src_dims,
    int64_t c0,
    int64_t cc,
    int64_t s_lo,
    int64_t nsl,
    T* buf) {
  const int64_t S0 = src_dims[0], S1 = src_dims[1], S2 = src_dims[2];
  const int64_t src_sp = S0 * S1 * S2, sh = gp.sh, sw = gp.sw;
  for (int64_t c = 0; c < cc; ++c)
    for (int64_t sl = 0; sl < nsl; ++sl) {
      const int64_t s = s_lo + sl;
      if (s < 0 || s >= S0)
        continue;  // never read: those depth taps are skipped (or zeroed)
      const T* splane = src_n + (c0 + c) * src_sp + s * S1 * S2;
      T* dst = buf + (c * nsl + sl) * gp.cs;
      if (gp.halo && halo_fast<T, A>(gp)) {
        pack_slice_halo<T, A>(gp, splane, S1, S2, dst);
        continue;
      }
      for (int64_t i = 0; i < gp.n_rho; ++i) {
        const int64_t h0 = sh * gp.qh0 + gp.rho[i];
        if (gp.halo) {
          for (int64_t j = 0; j < gp.n_rw; ++j) {
            const int64_t off = sw * gp.qw0 + gp.rw[j];
            const int64_t lo = iclamp(cdiv_any(-off, sw), 0, gp.LW);
            const int64_t hi = iclamp(cdiv_any(S2 - off, sw), lo, gp.LW);
            pack_region<T, A>(
                dst + i * gp.HQ * gp.RP + j * gp.LW, splane, S1, S2, gp.HQ,
                gp.LW, gp.RP, h0, sh, sw, off, lo, hi);
          }
        } else {
          for (int64_t u = 0; u < gp.NU; ++u) {
            const int64_t off = gp.uoff[u];
            const int64_t lo = iclamp(cdiv_any(-off, sw), 0, gp.NWs);
            const int64_t hi = iclamp(cdiv_any(S2 - off, sw), lo, gp.NWs);
            pack_region<T, A>(
                dst + (i * gp.NU + u) * gp.HQ * gp.NWs, splane, S1, S2, gp.HQ,
                gp.NWs, gp.NWs, h0, sh, sw, off, lo, hi);
          }
        }
      }
    }
}

// Offsets of k = (depth tap, channel, height tap, width tap) into a packed
// window of cc channels and nsl slices: the gather reduction order.
void gather_offsets(
    const GroupPlan& gp,
    const ClassPlan& p,
    int64_t cc,
    int64_t nsl,
    int32_t* boff) {
  int64_t k = 0;
  const AxisView& md = p.cv->ax[0];
  for (int64_t id = 0; id < p.nt[0]; ++id)
    for (int64_t c = 0; c < cc; ++c)
      for (int64_t ih = 0; ih < p.nt[1]; ++ih)
        for (int64_t iw = 0; iw < p.nt[2]; ++iw)
          boff[k++] = static_cast<int32_t>(
              (c * nsl + md.off[id] - gp.dmin) * gp.cs + p.hoff[ih] +
              p.woff[iw]);
}

// The same offsets in weight order e = (channel, depth tap, height tap,
// width tap) (the weight gradient's columns).
void wgrad_offsets(
    const GroupPlan& gp,
    const ClassPlan& p,
    int64_t cc,
    int64_t nsl,
    int32_t* boff) {
  int64_t e = 0;
  const AxisView& md = p.cv->ax[0];
  for (int64_t c = 0; c < cc; ++c)
    for (int64_t id = 0; id < p.nt[0]; ++id)
      for (int64_t ih = 0; ih < p.nt[1]; ++ih)
        for (int64_t iw = 0; iw < p.nt[2]; ++iw)
          boff[e++] = static_cast<int32_t>(
              (c * nsl + md.off[id] - gp.dmin) * gp.cs + p.hoff[ih] +
              p.woff[iw]);
}

// out[2j] = e[j] + b, out[2j+1] = o[j] + b for 2j, 2j+1 < n. e and o may
// be read up to a vector past their ends.
template <class T, class A>
inline void zip_rows(T* out, const T* e, const T* o, int64_t n, T b) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    const __m512i lo = _mm512_setr_epi32(
        0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(
        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 bb = _mm512_set1_ps(b);
    for (int64_t j0 = 0; 2 * j0 < n; j0 += 16) {
      const __m512 ve = _mm512_loadu_ps(e + j0), vo = _mm512_loadu_ps(o + j0);
      const __m512 a = _mm512_add_ps(_mm512_permutex2var_ps(ve, lo, vo), bb);
      const __m512 c = _mm512_add_ps(_mm512_permutex2var_ps(ve, hi, vo), bb);
      const int64_t rem = n - 2 * j0;
      if (rem >= 32) {
        _mm512_storeu_ps(out + 2 * j0, a);
        _mm512_storeu_ps(out + 2 * j0 + 16, c);
      } else {
        _mm512_mask_storeu_ps(out + 2 * j0, lane_range(0, rem), a);
        if (rem > 16)
          _mm512_mask_storeu_ps(out + 2 * j0 + 16, lane_range(0, rem - 16), c);
      }
    }
    return;
  }
#endif
  for (int64_t j = 0; 2 * j < n; ++j) {
    out[2 * j] = e[j] + b;
    if (2 * j + 1 < n)
      out[2 * j + 1] = o[j] + b;
  }
}

// dst[i] = src[i] for i < n, with stores that bypass the caches.
template <class T, class A>
void stream_copy(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
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

}  // namespace
}  // namespace voxgrad::kernels::detail
