#pragma once
// What the two gather executors (gather_direct.hpp, gather_tile.hpp) share:
// their per-thread buffers, the packing of one channel chunk of a task
// (weights and window) and the register-block loop over a plane's columns.
// Internal linkage: compiled once per instruction set.
//
// Packed weights of a chunk of cc source channels, per phase of the window:
//   a[row block rb][k][mr]   mr = rows of the block (MR, less in the last),
//   k = (depth tap, channel, height tap, width tap), the reduction order;
// tap offsets into the window, per phase: boff[k] (pack.hpp).

#include "voxgrad/core/kernels/conv3d_engine/gemm.hpp"
#include "voxgrad/core/kernels/conv3d_engine/pack.hpp"
#include "voxgrad/core/kernels/conv3d_engine/scratch.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class T>
struct GatherBuffers {
  Scratch<T> window;        // packed source window (+ 4 vectors of zeros)
  Scratch<T> weights;       // packed weights, every phase of the window
  Scratch<int32_t> boff;    // tap offsets, every phase of the window
  Scratch<int64_t> starts;  // per phase: its weights, its offsets
  GatherBuffers(const GatherPlan& gp, int64_t L)
      : window(gp.window_vals + 4 * L),
        weights(gp.weight_vals),
        boff(gp.n_offsets),
        starts(2 * (gp.n_phases + 1)) {
    // Columns may read up to a vector past the packed values.
    std::memset(
        window.get() + gp.window_vals, 0,
        static_cast<size_t>(4 * L) * sizeof(T));
  }
};

// Source slices of task t's window, from s_lo.
inline int64_t window_slices(const WindowPlan& w, const GatherTask& t) {
  return w.sd * (t.jd1 - t.jd0 - 1) + w.d_span;
}

/// Packs chunk ch (source channels [ch*chunk, +ccn)) of task t: the weights
/// and tap offsets of every phase of its window, and the window itself.
/// Returns ccn.
template <class T, class A>
int64_t pack_chunk(
    const GatherPlan& gp,
    const GatherTask& t,
    int64_t ch,
    int64_t G,
    const T* src,
    const T* w,
    GatherBuffers<T>& buf) {
  const WindowPlan& win = gp.windows[t.window];
  const int64_t M = gp.M, C_src = gp.C_src, grp = t.ng % G;
  const int64_t kvol = gp.kernel[0] * gp.kernel[1] * gp.kernel[2];
  const int64_t src_sp = gp.src_dims[0] * gp.src_dims[1] * gp.src_dims[2];
  const int64_t c0 = ch * gp.chunk, ccn = imin(gp.chunk, C_src - c0);
  const int64_t rows = t.m1 - t.m0, MR = gp.MR;
  const int64_t rblocks = ceil_div(rows, MR);
  const int64_t nsl = window_slices(win, t);
  // W(m, c, tap) = w[m*rs + c*cst + tap] from the chunk's corner.
  const int64_t rs = gp.w_rows_are_dst ? C_src * kvol : kvol;
  const int64_t cst = gp.w_rows_are_dst ? kvol : M * kvol;
  const T* wg = gp.w_rows_are_dst ? w + ((grp * M + t.m0) * C_src + c0) * kvol
                                  : w + ((grp * C_src + c0) * M + t.m0) * kvol;
  int64_t a_off = 0, k_off = 0;
  for (int64_t ph = win.phase0; ph < win.phase1; ++ph) {
    const PhasePlan& p = gp.phases[ph];
    const int64_t K = ccn * p.taps;
    buf.starts[2 * (ph - win.phase0)] = a_off;
    buf.starts[2 * (ph - win.phase0) + 1] = k_off;
    gather_offsets(win, p, ccn, nsl, buf.boff.get() + k_off);
    const int64_t thw = p.ax[1].n_taps * p.ax[2].n_taps;
    for (int64_t rb = 0; rb < rblocks; ++rb) {
      const int64_t mr = imin(MR, rows - rb * MR);
      T* ab = buf.weights.get() + a_off + rb * MR * K;
      const T* wr = wg + rb * MR * rs;
      for (int64_t id = 0, k = 0; id < p.ax[0].n_taps; ++id)
        for (int64_t c = 0; c < ccn; ++c) {
          const T* wc = wr + c * cst;
          for (int64_t j = id * thw; j < (id + 1) * thw; ++j, ++k) {
            const T* from = wc + p.w_tap[j];
            T* to = ab + k * mr;
            for (int64_t r = 0; r < mr; ++r)
              to[r] = from[r * rs];
          }
        }
    }
    a_off += rblocks * MR * K;
    k_off += K;
  }
  const T* src_n = src + t.ng * C_src * src_sp;
  pack_window<T, A>(
      win, src_n, gp.src_dims, c0, ccn, win.sd * t.jd0 + win.d_off0, nsl,
      buf.window.get());
  return ccn;
}

/// Columns [0, n_cols) of phase p for one plane, rows [0, rows) of the
/// task, over the k range [k0, k1) of a chunk of K values per row:
///   c_base[r*ldc + col_dst[v] + l] (+)= sum_k a[k][r] * bb[col_src[v] +
///   boff[k] + l], in blocks of MR rows x up to NV columns (balanced).
template <class T, class A>
void multiply_columns(
    const GatherPlan& gp,
    const PhasePlan& p,
    int64_t n_cols,
    int64_t rows,
    int64_t K,
    int64_t k0,
    int64_t k1,
    const T* ab,
    const int32_t* bo,
    const T* bb,
    T* c_base,
    int64_t ldc,
    int flags,
    const T* bias_rows) {
  const GemmTable<T, A>& kt = gemm_table<T, A>();
  const int64_t MR = gp.MR;
  const T* bcols[GemmTable<T, A>::kB.nv_cap];
  T* ccols[GemmTable<T, A>::kB.nv_cap];
  for (int64_t v0 = 0; v0 < n_cols;) {
    const int64_t nb = ceil_div(n_cols - v0, gp.NV);
    const int64_t nv = ceil_div(n_cols - v0, nb);
    for (int64_t v = 0; v < nv; ++v)
      bcols[v] = bb + p.col_src[v0 + v];
    for (int64_t rb = 0; rb * MR < rows; ++rb) {
      const int64_t mr = imin(MR, rows - rb * MR);
      T* cb = c_base + rb * MR * ldc;
      for (int64_t v = 0; v < nv; ++v)
        ccols[v] = cb + p.col_dst[v0 + v];
      kt.fn[mr][nv](
          k1 - k0, ab + rb * MR * K + k0 * mr, bcols, bo, ccols, ldc, flags,
          bias_rows ? bias_rows + rb * MR : nullptr);
    }
    v0 += nv;
  }
}

}  // namespace
}  // namespace voxgrad::kernels::detail
