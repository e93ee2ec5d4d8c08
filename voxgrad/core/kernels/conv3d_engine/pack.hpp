#pragma once
// Packing source values into a window (the layouts of detail::WindowPlan in
// conv3d_plan.hpp) and the tap offsets into it. Used by every executor.
// Internal linkage: compiled once per instruction set.
//
// A window of cc channels and nsl source slices is
//   buf[c][slice][w.slice_vals]
// Slices outside the source are not packed: the taps that would read them
// are skipped (gather) or their slices zeroed (zero_unpacked_slices, wgrad).

#include <cstring>

#include "voxgrad/core/kernels/conv3d_engine/simd.hpp"
#include "voxgrad/core/kernels/conv3d_plan.hpp"

namespace voxgrad::kernels::detail {
namespace {

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

#if defined(__AVX512F__)
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
  if constexpr (kAvx512Float<T, A>) {
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

// Packs `rows` rows of n values, `pitch` apart: row q holds gather_row of
// source row h0 + hstep*q (zeros if that row is outside [0, S1)).
template <class T, class A>
void pack_region(
    T* reg,
    const T* splane,
    int64_t S1,
    int64_t S2,
    int64_t rows,
    int64_t n,
    int64_t pitch,
    int64_t h0,
    int64_t hstep,
    int64_t wstep,
    int64_t off,
    int64_t lo,
    int64_t hi) {
#if defined(__AVX512F__)
  if constexpr (kAvx512Float<T, A>) {
    constexpr int64_t kMaxChunks = 8;
    const int64_t nch = ceil_div(n, 16);
    if (wstep <= 2 && nch <= kMaxChunks) {
      // The masks depend on the 16-value chunk only: hoisted out of rows.
      __mmask16 m0[kMaxChunks], m1[kMaxChunks], mst[kMaxChunks];
      for (int64_t c = 0; c < nch; ++c) {
        const int64_t a = lo - 16 * c, b = hi - 16 * c;
        m0[c] =
            wstep == 1 ? lane_range(a, b) : lane_range(2 * a, 2 * b) & 0x5555;
        m1[c] = lane_range(2 * a - 16, 2 * b - 16) & 0x5555;
        mst[c] = lane_range(0, n - 16 * c);
      }
      const __m512i even = _mm512_setr_epi32(
          0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512 zero = _mm512_setzero_ps();
      for (int64_t q = 0; q < rows; ++q) {
        const int64_t h = h0 + hstep * q;
        float* row = reg + q * pitch;
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
  for (int64_t q = 0; q < rows; ++q) {
    const int64_t h = h0 + hstep * q;
    T* row = reg + q * pitch;
    if (h < 0 || h >= S1) {
      std::memset(row, 0, static_cast<size_t>(n) * sizeof(T));
    } else {
      prefetch_ahead(splane + h * S2, S2);
      gather_row<T, A>(row, splane + h * S2, n, wstep, off, lo, hi);
    }
  }
}

// Whether pack_slice_halo handles this window: AVX-512 float, width stride
// 1 or 2 with all its phases used, rows of at most 8 vectors.
template <class T, class A>
bool halo_fast(const WindowPlan& w) {
  if constexpr (kAvx512Float<T, A>)
    return (w.sw == 1 || (w.sw == 2 && w.n_w_phase == 2)) && w.row_len <= 128 &&
           w.n_h_phase == w.sh && w.sh <= 8;
  (void)w;
  return false;
}

// One source slice in the halo layout, reading the source rows in order,
// each once: every packed row (height phase, q) comes from one source row,
// and with width stride 2 both width phases are split from it in one pass.
template <class T, class A>
void pack_slice_halo(
    const WindowPlan& w, const T* splane, int64_t S1, int64_t S2, T* dst) {
#if defined(__AVX512F__)
  if constexpr (kAvx512Float<T, A>) {
    const __m512i even = _mm512_setr_epi32(
        0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t sh = w.sh, sw = w.sw, LW = w.row_len;
    const int64_t nch = ceil_div(LW, 16);
    // Source columns of 16-value chunk c start at sw*(col0 + 16c) (+ the
    // phase); the loads are masked to the columns inside [0, S2).
    __mmask16 m0[8], m1[8], mst[8];
    for (int64_t c = 0; c < nch; ++c) {
      const int64_t base = sw * (w.col0 + 16 * c);
      m0[c] = lane_range(-base, S2 - base);
      m1[c] = lane_range(-base - 16, S2 - base - 16);
      mst[c] = lane_range(0, LW - 16 * c);
    }
    // Where each width phase goes: phase value r -> its index.
    int64_t sub[2] = {0, 0};
    for (int64_t j = 0; j < w.n_w_phase; ++j)
      sub[w.w_phase[j]] = j;
    // Height phase value r -> its index.
    int64_t hidx[8] = {};
    for (int64_t i = 0; i < w.n_h_phase && w.h_phase[i] < 8; ++i)
      hidx[w.h_phase[i]] = i;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t q = 0; q < w.rows; ++q)
      for (int64_t r = 0; r < sh; ++r) {
        const int64_t h = sh * (q + w.row0) + r;
        float* row = dst + (hidx[r] * w.rows + q) * w.row_pitch;
        const bool valid = h >= 0 && h < S1;
        const float* srow = splane + (valid ? h : 0) * S2 + sw * w.col0;
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
  (void)w;
  (void)splane;
  (void)S1;
  (void)S2;
  (void)dst;
}

// Packs the window of channels [c0, c0 + cc) of one sample (src_n points at
// its channel 0), source slices [s_lo, s_lo + nsl) (those inside the
// source), into buf[c][slice][w.slice_vals].
template <class T, class A>
void pack_window(
    const WindowPlan& w,
    const T* src_n,
    const int64_t* src_dims,
    int64_t c0,
    int64_t cc,
    int64_t s_lo,
    int64_t nsl,
    T* buf) {
  const int64_t S0 = src_dims[0], S1 = src_dims[1], S2 = src_dims[2];
  const int64_t src_sp = S0 * S1 * S2, sh = w.sh, sw = w.sw;
  const bool fast = w.halo && halo_fast<T, A>(w);
  for (int64_t c = 0; c < cc; ++c)
    for (int64_t sl = 0; sl < nsl; ++sl) {
      const int64_t s = s_lo + sl;
      if (s < 0 || s >= S0)
        continue;  // never read: those depth taps are skipped (or zeroed)
      const T* splane = src_n + (c0 + c) * src_sp + s * S1 * S2;
      T* dst = buf + (c * nsl + sl) * w.slice_vals;
      if (fast) {
        pack_slice_halo<T, A>(w, splane, S1, S2, dst);
        continue;
      }
      for (int64_t i = 0; i < w.n_h_phase; ++i) {
        const int64_t h0 = sh * w.row0 + w.h_phase[i];
        if (w.halo) {
          for (int64_t j = 0; j < w.n_w_phase; ++j) {
            const int64_t off = sw * w.col0 + w.w_phase[j];
            const int64_t lo = iclamp(ceil_div(-off, sw), 0, w.row_len);
            const int64_t hi = iclamp(ceil_div(S2 - off, sw), lo, w.row_len);
            pack_region<T, A>(
                dst + i * w.rows * w.row_pitch + j * w.row_len, splane, S1, S2,
                w.rows, w.row_len, w.row_pitch, h0, sh, sw, off, lo, hi);
          }
        } else {
          for (int64_t u = 0; u < w.n_shift; ++u) {
            const int64_t off = w.shift[u];
            const int64_t lo = iclamp(ceil_div(-off, sw), 0, w.shift_len);
            const int64_t hi = iclamp(ceil_div(S2 - off, sw), lo, w.shift_len);
            pack_region<T, A>(
                dst + (i * w.n_shift + u) * w.rows * w.shift_len, splane, S1,
                S2, w.rows, w.shift_len, w.shift_len, h0, sh, sw, off, lo, hi);
          }
        }
      }
    }
}

// The offset of channel c, depth tap id, height tap ih, width tap iw of
// phase p in a window of nsl slices.
inline int32_t tap_offset(
    const WindowPlan& w,
    const PhasePlan& p,
    int64_t nsl,
    int64_t c,
    int64_t id,
    int64_t ih,
    int64_t iw) {
  return static_cast<int32_t>(
      (c * nsl + p.ax[0].off[id] - w.d_off0) * w.slice_vals + p.h_off[ih] +
      p.w_off[iw]);
}

// Offsets of k = (depth tap, channel, height tap, width tap) into a window
// of cc channels and nsl slices: the gather's reduction order.
inline void gather_offsets(
    const WindowPlan& w,
    const PhasePlan& p,
    int64_t cc,
    int64_t nsl,
    int32_t* boff) {
  int64_t k = 0;
  for (int64_t id = 0; id < p.ax[0].n_taps; ++id)
    for (int64_t c = 0; c < cc; ++c)
      for (int64_t ih = 0; ih < p.ax[1].n_taps; ++ih)
        for (int64_t iw = 0; iw < p.ax[2].n_taps; ++iw)
          boff[k++] = tap_offset(w, p, nsl, c, id, ih, iw);
}

// The same offsets in weight order e = (channel, depth tap, height tap,
// width tap): the weight gradient's entries.
inline void wgrad_offsets(
    const WindowPlan& w,
    const PhasePlan& p,
    int64_t cc,
    int64_t nsl,
    int32_t* boff) {
  int64_t e = 0;
  for (int64_t c = 0; c < cc; ++c)
    for (int64_t id = 0; id < p.ax[0].n_taps; ++id)
      for (int64_t ih = 0; ih < p.ax[1].n_taps; ++ih)
        for (int64_t iw = 0; iw < p.ax[2].n_taps; ++iw)
          boff[e++] = tap_offset(w, p, nsl, c, id, ih, iw);
}

// The depth taps [lo, hi) that read inside the source for plane jd.
inline void depth_taps(
    const AxisTaps& md, int64_t jd, int64_t& lo, int64_t& hi) {
  lo = 0;
  while (lo < md.n_taps && !(jd >= md.lo[lo] && jd < md.hi[lo]))
    ++lo;
  hi = lo;
  while (hi < md.n_taps && jd >= md.lo[hi] && jd < md.hi[hi])
    ++hi;
}

// Plane j (destination depth jd) of a window of cc channels and nsl slices:
// the slices its depth taps would read outside the source were not packed,
// so zero them (the weight gradient multiplies every tap).
template <class T>
void zero_unpacked_slices(
    const WindowPlan& w,
    const PhasePlan& p,
    int64_t jd,
    int64_t j,
    int64_t cc,
    int64_t nsl,
    T* buf) {
  int64_t id_lo = 0, id_hi = 0;
  depth_taps(p.ax[0], jd, id_lo, id_hi);
  for (int64_t id = 0; id < p.ax[0].n_taps; ++id) {
    if (id >= id_lo && id < id_hi)
      continue;
    const int64_t sl = w.sd * j + p.ax[0].off[id] - w.d_off0;
    for (int64_t c = 0; c < cc; ++c)
      std::memset(
          buf + (c * nsl + sl) * w.slice_vals, 0,
          static_cast<size_t>(w.slice_vals) * sizeof(T));
  }
}

}  // namespace
}  // namespace voxgrad::kernels::detail
