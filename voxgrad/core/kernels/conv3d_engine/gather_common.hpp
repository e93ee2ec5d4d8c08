#pragma once
// What the two gather executors (gather_direct.hpp, gather_tile.hpp) share:
// the weights packed once per call, their per-thread buffers, the packing
// of one channel chunk of a task's window and the register-block loop over
// a plane's columns. Internal linkage: compiled once per instruction set.
//
// Packed weights (shared, read-only; GatherPlan):
//   [grp][window][chunk][phase][row block rb][k][mr]   mr = rows of the
//   block (MR, less in the last), k = (depth tap, channel, height tap, width
//   tap), the reduction order;
// tap offsets into the window, per phase: boff[k] (pack.hpp).

#include "voxgrad/core/kernels/conv3d_engine/gemm.hpp"
#include "voxgrad/core/kernels/conv3d_engine/pack.hpp"
#include "voxgrad/core/kernels/conv3d_engine/scratch.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

/// Packs the weights of every (conv group, window, chunk) in parallel:
///   W(grp, m, c, tap) = w[m*rs + c*cst + tap] from the group's corner.
template <class T>
void pack_weights(const GatherPlan& gp, int64_t G, const T* w, T* packed) {
  const int64_t M = gp.M, C_src = gp.C_src, MR = gp.MR;
  const int64_t kvol = gp.kernel[0] * gp.kernel[1] * gp.kernel[2];
  const int64_t rs = gp.w_rows_are_dst ? C_src * kvol : kvol;
  const int64_t cst = gp.w_rows_are_dst ? kvol : M * kvol;
  const int64_t units = G * gp.n_windows * gp.n_chunks;
  parallel_for(0, units, 1, [&](int64_t ub, int64_t ue) {
    for (int64_t u = ub; u < ue; ++u) {
      const int64_t ch = u % gp.n_chunks, wi = u / gp.n_chunks % gp.n_windows;
      const int64_t grp = u / gp.n_chunks / gp.n_windows;
      const WindowPlan& win = gp.windows[wi];
      const int64_t c0 = ch * gp.chunk, ccn = imin(gp.chunk, C_src - c0);
      const T* wg = gp.w_rows_are_dst ? w + (grp * M * C_src + c0) * kvol
                                      : w + (grp * C_src + c0) * M * kvol;
      T* out = packed + grp * gp.w_grp_vals + win.w_off + M * c0 * win.taps;
      for (int64_t ph = win.phase0; ph < win.phase1; ++ph) {
        const PhasePlan& p = gp.phases[ph];
        const int64_t K = ccn * p.taps;
        const int64_t thw = p.ax[1].n_taps * p.ax[2].n_taps;
        T* pa = out + M * ccn * p.tap0;
        for (int64_t rb = 0; rb * MR < M; ++rb) {
          const int64_t mr = imin(MR, M - rb * MR);
          T* ab = pa + rb * MR * K;
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
      }
    }
  });
}

/// The packed weights of phase ph for chunk ch (of ccn channels), from row
/// m0 (a multiple of MR).
template <class T>
const T* packed_weights(
    const GatherPlan& gp,
    const T* packed,
    int64_t grp,
    const WindowPlan& win,
    const PhasePlan& p,
    int64_t ch,
    int64_t ccn,
    int64_t m0) {
  const int64_t M = gp.M;
  return packed + grp * gp.w_grp_vals + win.w_off +
         M * ch * gp.chunk * win.taps + M * ccn * p.tap0 + m0 * ccn * p.taps;
}

template <class T>
struct GatherBuffers {
  Scratch<T> window;        // packed source window (+ 4 vectors of zeros)
  Scratch<int32_t> boff;    // tap offsets, every phase of the window
  Scratch<int64_t> starts;  // per phase: its offsets
  GatherBuffers(const GatherPlan& gp, int64_t L)
      : window(gp.window_vals + 4 * L),
        boff(gp.n_offsets),
        starts(gp.n_phases + 1) {
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

/// Packs chunk ch (source channels [ch*chunk, +ccn)) of task t: the tap
/// offsets of every phase of its window, and the window itself. Returns
/// ccn.
template <class T, class A>
int64_t pack_chunk(
    const GatherPlan& gp,
    const GatherTask& t,
    int64_t ch,
    const T* src,
    GatherBuffers<T>& buf) {
  const WindowPlan& win = gp.windows[t.window];
  const int64_t C_src = gp.C_src;
  const int64_t src_sp = gp.src_dims[0] * gp.src_dims[1] * gp.src_dims[2];
  const int64_t c0 = ch * gp.chunk, ccn = imin(gp.chunk, C_src - c0);
  const int64_t nsl = window_slices(win, t);
  int64_t k_off = 0;
  for (int64_t ph = win.phase0; ph < win.phase1; ++ph) {
    const PhasePlan& p = gp.phases[ph];
    buf.starts[ph - win.phase0] = k_off;
    gather_offsets(win, p, ccn, nsl, buf.boff.get() + k_off);
    k_off += ccn * p.taps;
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
