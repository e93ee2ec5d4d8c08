#pragma once
// Executor GatherDirect (Path::GatherDirect): conv3d_fwd, and conv3d_bwd_data
// when the height and width strides are 1 (only the depth may have phases):
// every phase is whole planes of the output, written in place.
// Internal linkage: compiled once per instruction set.
//
//   src  (N, G*C_src, src_d, src_h, src_w)   x (fwd) or dy (bwd_data)
//   w    (C_out, C_in/G, kd, kh, kw)          the conv weight
//   dst  (N, G*M, dst_d, dst_h, dst_w)        y (fwd) or dx (bwd_data),
//                                             overwritten
//   bias (G*M) or null
//
// The weights are packed once per call (gather_common.hpp). A task (conv
// group and sample, depth phase, planes [jd0, jd1), rows [m0, m1)) loops
// over the channel chunks; per chunk it packs the window, then for each
// plane multiplies the
// depth taps that read inside the source into the output rows: chunk 0
// stores, later chunks add, the last adds the bias. A row of positions that
// does not end on a vector (shifted layout) leaves a partial last column,
// computed in `tail` and copied out. Outputs of >= 32 MiB computed in one
// chunk are stored non-temporally.

#include "voxgrad/core/kernels/conv3d_engine/gather_common.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class T, class A>
void gather_direct(
    const ConvPlan& plan, const T* src, const T* w, T* dst, const T* bias) {
  const GatherPlan& gp = plan.gather;
  constexpr int64_t L = kLanes<T, A>;
  VOXGRAD_ASSERT(plan.lanes == L);
  const int64_t G = plan.G, M = gp.M, MR = gp.MR;
  const int64_t D12 = gp.dst_dims[1] * gp.dst_dims[2];
  const int64_t dst_sp = gp.dst_dims[0] * D12;
  const GemmTable<T, A>& kt = gemm_table<T, A>();

  if (gp.n_tasks == 0)
    return;  // N == 0: nothing to write (and w may be null)
  Scratch<T> packed(G * gp.w_grp_vals);
  pack_weights(gp, G, w, packed.get());

  parallel_for(0, gp.n_tasks, 1, [&](int64_t tb, int64_t te) {
    GatherBuffers<T> buf(gp, L);
    Scratch<T> tail(MR * L);
    bool streamed = false;
    for (int64_t ti = tb; ti < te; ++ti) {
      const GatherTask& t = gp.tasks[ti];
      const WindowPlan& win = gp.windows[t.window];
      const PhasePlan& p = gp.phases[win.phase0];  // the only one
      const AxisTaps& md = p.ax[0];
      const int64_t rows = t.m1 - t.m0;
      T* dst_n = dst + t.ng * M * dst_sp;
      const T* bias_rows = bias ? bias + (t.ng % G) * M + t.m0 : nullptr;
      for (int64_t ch = 0; ch < gp.n_chunks; ++ch) {
        const int64_t ccn = pack_chunk<T, A>(gp, t, ch, src, buf);
        const int64_t K = ccn * p.taps;
        const int64_t per_id = ccn * p.ax[1].n_taps * p.ax[2].n_taps;
        const T* ab =
            packed_weights(gp, packed.get(), t.ng % G, win, p, ch, ccn, t.m0);
        for (int64_t jd = t.jd0; jd < t.jd1; ++jd) {
          int64_t id_lo = 0, id_hi = 0;
          depth_taps(md, jd, id_lo, id_hi);
          const int64_t k0 = id_lo * per_id, k1 = imax(k0, id_hi * per_id);
          const int32_t* bo = buf.boff.get() + buf.starts[0] + k0;
          const T* bb =
              buf.window.get() + win.sd * (jd - t.jd0) * win.slice_vals;
          T* c_base =
              dst_n + t.m0 * dst_sp + (md.dst_step * jd + md.dst_off) * D12;
          const int64_t ldc = dst_sp;
          int flags = ch > 0 ? kAccum : 0;
          if (ch + 1 == gp.n_chunks && bias_rows)
            flags |= kBias;
          if (gp.n_chunks == 1 && gp.stream && ldc % L == 0 &&
              reinterpret_cast<uintptr_t>(c_base) % (L * sizeof(T)) == 0)
            flags |= kStream;
          // Whole columns; the shifted layout may end in a partial one.
          const int64_t nfull = win.halo ? p.n_col : p.n_pos / L;
          multiply_columns<T, A>(
              gp, p, nfull, rows, K, k0, k1, ab, bo, bb, c_base, ldc, flags,
              bias_rows);
          if (flags & kStream)
            streamed = true;
          if (nfull * L < p.n_pos) {
            const int64_t q0 = nfull * L, rem = p.n_pos - q0;
            const T* bcol = bb + q0;
            T* tl = tail.get();
            for (int64_t rb = 0; rb * MR < rows; ++rb) {
              const int64_t mr = imin(MR, rows - rb * MR);
              T* cr = c_base + rb * MR * ldc + q0;
              for (int64_t r = 0; r < mr; ++r)
                for (int64_t l = 0; l < L; ++l)
                  tl[r * L + l] = ch > 0 && l < rem ? cr[r * ldc + l] : T(0);
              kt.fn[mr][1](
                  k1 - k0, ab + rb * MR * K + k0 * mr, &bcol, bo, &tl, L,
                  flags & ~kStream, bias_rows ? bias_rows + rb * MR : nullptr);
              for (int64_t r = 0; r < mr; ++r)
                for (int64_t l = 0; l < rem; ++l)
                  cr[r * ldc + l] = tl[r * L + l];
            }
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
