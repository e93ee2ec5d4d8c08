#pragma once
// Executor GatherTile (Path::GatherTile): conv3d_bwd_data (ConvTranspose3d's
// forward) when the height or width stride is > 1. By the sub-pixel
// decomposition the destination positions with a fixed residue modulo the
// stride on each axis (a phase) see a fixed set of taps, each reading the
// source at a fixed offset: every phase is a dense stride-1 gather, and
// every destination value is written once (no scatter, no atomics).
// Internal linkage: compiled once per instruction set.
//
//   src  (N, G*C_src, src_d, src_h, src_w)   dy (the conv's output side)
//   w    (C_out, C_in/G, kd, kh, kw)          the conv weight; rows m are
//                                             its input channels
//   dst  (N, G*M, dst_d, dst_h, dst_w)        dx, overwritten
//   bias (G*M) or null
//   tile [plane jd - jd0][phase][row block][MR][n_col * L]
//        per task: its planes of every phase of its depth phase, rows
//        [m0, m1); row r of a phase holds its n_h rows of positions, pitch
//        `pitch`
//
// The weights are packed once per call (gather_common.hpp). A task (conv
// group and sample, depth phase, planes [jd0, jd1), rows [m0, m1)) computes
// every phase of its planes into the tile, chunk by chunk (chunk 0 stores,
// later chunks add), then interleaves the phases
// into the output slices adding the bias: two width phases of stride 2 are
// zipped with vector permutes, anything else is scattered. Each output
// line is written once, by one task; outputs of >= 32 MiB go through a
// plane buffer and non-temporal stores.

#include "voxgrad/core/kernels/conv3d_engine/gather_common.hpp"

namespace voxgrad::kernels::detail {
namespace {

// out[2j] = e[j] + b, out[2j+1] = o[j] + b for 2j, 2j+1 < n. e and o may
// be read up to a vector past their ends.
template <class T, class A>
inline void zip_rows(T* out, const T* e, const T* o, int64_t n, T b) {
#if defined(__AVX512F__)
  if constexpr (kAvx512Float<T, A>) {
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

// Row r of task t's planes jd in the tile, interleaved into its output
// slice (plus b): the phases come in runs sharing the height phase.
template <class T, class A>
void interleave_row(
    const GatherPlan& gp,
    const WindowPlan& win,
    const T* tile_plane,  // the tile of plane jd
    int64_t r,
    int64_t rblocks,
    T* slice,  // the output slice of row r at plane jd
    T b) {
  constexpr int64_t L = kLanes<T, A>;
  const int64_t D2 = gp.dst_dims[2], MR = gp.MR;
  int64_t toff = 0;
  for (int64_t cl = win.phase0; cl < win.phase1;) {
    int64_t ce = cl + 1;
    while (ce < win.phase1 &&
           gp.phases[ce].ax[1].dst_off == gp.phases[cl].ax[1].dst_off)
      ++ce;
    const AxisTaps& mh = gp.phases[cl].ax[1];
    const T* tr[2] = {nullptr, nullptr};
    int64_t tp[2] = {0, 0}, nws[2] = {0, 0}, ldts = 0;
    for (int64_t c = cl; c < ce; ++c) {
      const PhasePlan& pc = gp.phases[c];
      const int64_t ldt = pc.n_col * L;
      if (ce - cl == 2 && pc.ax[2].dst_step == 2) {
        tr[pc.ax[2].dst_off] = tile_plane + toff + ldts + r * ldt;
        tp[pc.ax[2].dst_off] = pc.pitch;
        nws[pc.ax[2].dst_off] = pc.n_w;
      }
      ldts += rblocks * MR * ldt;
    }
    if (tr[0] && tr[1] && nws[0] + nws[1] == D2) {
      for (int64_t jh = 0; jh < gp.phases[cl].n_h; ++jh)
        zip_rows<T, A>(
            slice + (mh.dst_step * jh + mh.dst_off) * D2, tr[0] + jh * tp[0],
            tr[1] + jh * tp[1], D2, b);
    } else {
      int64_t o2 = 0;
      for (int64_t c = cl; c < ce; ++c) {
        const PhasePlan& pc = gp.phases[c];
        const AxisTaps& mw = pc.ax[2];
        const T* trc = tile_plane + toff + o2 + r * pc.n_col * L;
        for (int64_t jh = 0; jh < pc.n_h; ++jh) {
          T* drow = slice + (mh.dst_step * jh + mh.dst_off) * D2 + mw.dst_off;
          const T* trow = trc + jh * pc.pitch;
          for (int64_t jw = 0; jw < pc.n_w; ++jw)
            drow[jw * mw.dst_step] = trow[jw] + b;
        }
        o2 += rblocks * MR * pc.n_col * L;
      }
    }
    toff += ldts;
    cl = ce;
  }
}

template <class T, class A>
void gather_tile(
    const ConvPlan& plan, const T* src, const T* w, T* dst, const T* bias) {
  const GatherPlan& gp = plan.gather;
  constexpr int64_t L = kLanes<T, A>;
  VOXGRAD_ASSERT(plan.lanes == L);
  const int64_t G = plan.G, M = gp.M, MR = gp.MR;
  const int64_t D12 = gp.dst_dims[1] * gp.dst_dims[2];
  const int64_t dst_sp = gp.dst_dims[0] * D12;

  if (gp.n_tasks == 0)
    return;  // N == 0: nothing to write (and w may be null)
  Scratch<T> packed(G * gp.w_grp_vals);
  pack_weights(gp, G, w, packed.get());

  parallel_for(0, gp.n_tasks, 1, [&](int64_t tb, int64_t te) {
    GatherBuffers<T> buf(gp, L);
    Scratch<T> tile(gp.tile_vals + 2 * L);
    Scratch<T> plane(gp.stream ? D12 : 1);
    bool streamed = false;
    for (int64_t ti = tb; ti < te; ++ti) {
      const GatherTask& t = gp.tasks[ti];
      const WindowPlan& win = gp.windows[t.window];
      const AxisTaps& md = gp.phases[win.phase0].ax[0];
      const int64_t rows = t.m1 - t.m0, rblocks = ceil_div(rows, MR);
      const int64_t plane_tile = rblocks * MR * win.tile_row;
      T* dst_n = dst + t.ng * M * dst_sp;
      const T* bias_n = bias ? bias + (t.ng % G) * M : nullptr;
      for (int64_t ch = 0; ch < gp.n_chunks; ++ch) {
        const int64_t ccn = pack_chunk<T, A>(gp, t, ch, src, buf);
        for (int64_t jd = t.jd0; jd < t.jd1; ++jd) {
          int64_t id_lo = 0, id_hi = 0;
          depth_taps(md, jd, id_lo, id_hi);
          const T* bb =
              buf.window.get() + win.sd * (jd - t.jd0) * win.slice_vals;
          T* c_base = tile.get() + (jd - t.jd0) * plane_tile;
          for (int64_t ph = win.phase0; ph < win.phase1; ++ph) {
            const PhasePlan& p = gp.phases[ph];
            const int64_t K = ccn * p.taps;
            const int64_t per_id = ccn * p.ax[1].n_taps * p.ax[2].n_taps;
            const int64_t k0 = id_lo * per_id, k1 = imax(k0, id_hi * per_id);
            const T* ab = packed_weights(
                gp, packed.get(), t.ng % G, win, p, ch, ccn, t.m0);
            const int32_t* bo =
                buf.boff.get() + buf.starts[ph - win.phase0] + k0;
            const int64_t ldc = p.n_col * L;
            multiply_columns<T, A>(
                gp, p, p.n_col, rows, K, k0, k1, ab, bo, bb, c_base, ldc,
                ch > 0 ? kAccum : 0, nullptr);
            c_base += rblocks * MR * ldc;
          }
        }
      }
      for (int64_t jd = t.jd0; jd < t.jd1; ++jd) {
        T* slice0 = dst_n + (md.dst_step * jd + md.dst_off) * D12;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t m = t.m0 + r;
          T* slice_m = slice0 + m * dst_sp;
          T* slice = gp.stream ? plane.get() : slice_m;
          interleave_row<T, A>(
              gp, win, tile.get() + (jd - t.jd0) * plane_tile, r, rblocks,
              slice, bias_n ? bias_n[m] : T(0));
          if (gp.stream) {
            stream_copy<T, A>(slice_m, slice, D12);
            streamed = true;
          }
        }
      }
    }
    if (streamed)
      stream_fence();
  });
}

}  // namespace
}  // namespace voxgrad::kernels::detail
