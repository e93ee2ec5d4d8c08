// conv3d_plan(): every decision of a conv3d kernel call, made before any
// data is touched (see conv3d_plan.hpp for the words). Pure functions of
// the geometry, the pass, the instruction set and the element type; no
// SIMD code runs here.

#include "voxgrad/core/kernels/conv3d_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/kernels/conv3d_engine/blocking.hpp"
#include "voxgrad/core/kernels/conv3d_engine/index_math.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"

namespace voxgrad::kernels {
namespace detail {

// The arrays a plan's views point into. Blocks never move, so the pointers
// stay valid; the storage is immutable once the plan is made.
struct PlanStorage {
  std::vector<std::unique_ptr<int64_t[]>> blocks;
  std::vector<std::unique_ptr<int32_t[]>> blocks32;
  std::vector<PhasePlan> phases;
  std::vector<WindowPlan> windows;
  std::vector<GatherTask> gather_tasks;
  std::vector<WgradTask> wgrad_tasks;

  int64_t* ints(int64_t n) {  // n zeroed values
    blocks.push_back(std::make_unique<int64_t[]>(static_cast<size_t>(n + 1)));
    return blocks.back().get();
  }
  int32_t* ints32(int64_t n) {
    blocks32.push_back(std::make_unique<int32_t[]>(static_cast<size_t>(n + 1)));
    return blocks32.back().get();
  }
};

}  // namespace detail

namespace {

using detail::AxisTaps;
using detail::Blocking;
using detail::ceil_div;
using detail::floor_div;
using detail::GatherPlan;
using detail::GatherTask;
using detail::iclamp;
using detail::imax;
using detail::imin;
using detail::PhasePlan;
using detail::PlanStorage;
using detail::round_up;
using detail::WgradPlan;
using detail::WgradTask;
using detail::WindowPlan;

// Workspace budgets, in values per task loop (per thread). The gather scales
// its budgets with the op (1 % of its input + output + weight values each
// for the packed weights + window and for the tile, at least these floors),
// so that the extra memory stays well under 5 % at 2 threads.
constexpr int64_t kPackBudget = 8192;   // packed values per channel chunk
constexpr int64_t kWinBudget = 16384;   // packed values of a task's window
constexpr int64_t kTileBudget = 32768;  // tile values per task (tile mode)
constexpr int64_t kAccBudget = 32768;   // WgradLanes accumulators per task
constexpr int64_t kChanBudget = 16384;  // WgradChannels accumulators, dyt

// Every executor splits its output into at least this many tasks where the
// geometry allows (4 per thread on the 2-core machine the engines are tuned
// on). It is a constant, never num_threads(): the blocking, the splits and
// so the order of every sum depend on the geometry and the instruction set
// only, so results are bit-identical for any thread count or load (issue
// 10). More threads than kMinTasks / 2 may then find fewer tasks than they
// could use on small problems; large ones have many more tasks anyway.
constexpr int64_t kMinTasks = 8;

// ---- axes and phases --------------------------------------------------------

// An axis under construction: room for `cap` taps.
struct AxisBuilder {
  AxisTaps a;
  int64_t *tap, *off, *lo, *hi;
  AxisBuilder(PlanStorage& st, int64_t cap)
      : tap(st.ints(cap)),
        off(st.ints(cap)),
        lo(st.ints(cap)),
        hi(st.ints(cap)) {
    a.tap = tap;
    a.off = off;
    a.lo = lo;
    a.hi = hi;
  }
  // Tap t reads src_step*j + offset: valid for j in [lo, hi).
  void add(int64_t t, int64_t offset) {
    const int64_t i = a.n_taps++;
    tap[i] = t;
    off[i] = offset;
    lo[i] = iclamp(ceil_div(-offset, a.src_step), 0, a.n_pos);
    hi[i] = iclamp(ceil_div(a.src_len - offset, a.src_step), lo[i], a.n_pos);
  }
};

// Conv direction along axis a: position j = output index o, reading
// x[o*s - p + t*dil] for every tap t, writing y[o].
AxisTaps conv_axis(const ConvGeometry3d& g, size_t a, PlanStorage& st) {
  AxisBuilder b(st, g.kernel[a]);
  b.a.n_pos = g.out[a];
  b.a.src_len = g.in[a];
  b.a.src_step = g.stride[a];
  for (int64_t t = 0; t < g.kernel[a]; ++t)
    b.add(t, t * g.dilation[a] - g.padding[a]);
  return b.a;
}

// Transposed direction along axis a, phase r: the input positions
// i = i0 + s*j with (i + p) mod s == r. Tap t reaches i from output
// o = (i + p - t*dil) / s iff t*dil == r (mod s), and then o = j + off_t
// with off_t = (i0 + p - t*dil) / s, an exact division.
AxisTaps transposed_axis(
    const ConvGeometry3d& g, size_t a, int64_t r, PlanStorage& st) {
  const int64_t s = g.stride[a], p = g.padding[a], dil = g.dilation[a];
  int64_t i0 = (r - p) % s;  // (x % s + s) % s would overflow for s ~ 2^63
  if (i0 < 0)
    i0 += s;
  AxisBuilder b(st, g.kernel[a]);
  b.a.n_pos = i0 < g.in[a] ? (g.in[a] - 1 - i0) / s + 1 : 0;
  b.a.src_len = g.out[a];
  b.a.src_step = 1;
  b.a.dst_step = s;
  b.a.dst_off = i0;
  for (int64_t t = 0; t < g.kernel[a]; ++t)
    if ((r - t * dil) % s == 0)
      b.add(t, (i0 + p - t * dil) / s);
  return b.a;
}

// The phases r in [0, s) of axis a that hold at least one input position,
// in increasing order: at most min(s, in) of them, so a huge stride costs
// nothing (enumerating all s phases hung for stride 2^61).
std::vector<int64_t> transposed_phases(const ConvGeometry3d& g, size_t a) {
  const int64_t s = g.stride[a], p = g.padding[a] % s;
  std::vector<int64_t> rs;
  for (int64_t i0 = 0; i0 < imin(s, g.in[a]); ++i0)
    rs.push_back(i0 + p < s ? i0 + p : i0 + p - s);  // (i0 + p) mod s
  std::sort(rs.begin(), rs.end());
  return rs;
}

// Distinct values of off[i] mod s (floor), in order of appearance; returns
// how many, and writes each i's index into idx.
int64_t distinct_phases(
    const int64_t* off, int64_t n, int64_t s, int64_t* vals, int64_t* idx) {
  int64_t nv = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = off[i] - floor_div(off[i], s) * s;
    int64_t j = 0;
    while (j < nv && vals[j] != r)
      ++j;
    if (j == nv)
      vals[nv++] = r;
    idx[i] = j;
  }
  return nv;
}

// The window of phases [c0, c1) (sharing ax[0]) and each phase's place in
// it (see WindowPlan). `direct`: the destination rows are whole planes of
// pitch n_w (no tile).
WindowPlan plan_window(
    PhasePlan* ph,
    int64_t c0,
    int64_t c1,
    bool direct,
    int64_t L,
    int64_t kh,
    int64_t kw,
    PlanStorage& st) {
  WindowPlan w;
  w.phase0 = c0;
  w.phase1 = c1;
  w.direct = direct;
  const AxisTaps& md = ph[c0].ax[0];
  w.sd = md.src_step;
  w.sh = ph[c0].ax[1].src_step;
  w.sw = ph[c0].ax[2].src_step;
  const int64_t sh = w.sh, sw = w.sw;
  for (int64_t i = 0; i < md.n_taps; ++i)
    w.d_off0 = i == 0 ? md.off[i] : imin(w.d_off0, md.off[i]);
  for (int64_t i = 0; i < md.n_taps; ++i)
    w.d_span = imax(w.d_span, md.off[i] - w.d_off0 + 1);
  // Halo when every row holds whole vectors (or, in a tile, at least one);
  // shifted rows (width offsets expanded) let a vector span rows.
  w.halo = true;
  for (int64_t c = c0; c < c1; ++c) {
    const int64_t nw = ph[c].ax[2].n_pos;
    w.halo = w.halo && (nw % L == 0 || (!direct && nw > L));
    w.shift_len = imax(w.shift_len, nw);
  }
  int64_t nh_all = 0, nw_all = 0;
  for (int64_t c = c0; c < c1; ++c) {
    PhasePlan& p = ph[c];
    p.tap0 = w.taps;
    p.n_d = p.ax[0].n_pos;
    p.n_h = p.ax[1].n_pos;
    p.n_w = p.ax[2].n_pos;
    p.n_pos = p.n_h * p.n_w;
    p.taps = p.ax[0].n_taps * p.ax[1].n_taps * p.ax[2].n_taps;
    w.taps += p.taps;
    nh_all += p.ax[1].n_taps;
    nw_all += p.ax[2].n_taps;
  }
  // Union of the phases' height / width offsets, their phases mod the
  // stride and the packed row range.
  int64_t* hv = st.ints(nh_all);
  int64_t* wv = st.ints(nw_all);
  int64_t* hidx = st.ints(nh_all);
  int64_t* widx = st.ints(nw_all);
  int64_t qh1 = 0, qw1 = 0;
  bool any = false;
  for (int64_t c = c0, oh = 0, ow = 0; c < c1; ++c) {
    const AxisTaps &mh = ph[c].ax[1], &mw = ph[c].ax[2];
    for (int64_t i = 0; i < mh.n_taps; ++i)
      hv[oh + i] = mh.off[i];
    for (int64_t i = 0; i < mw.n_taps; ++i)
      wv[ow + i] = mw.off[i];
    oh += mh.n_taps;
    ow += mw.n_taps;
    for (int64_t i = 0; i < mh.n_taps; ++i)
      for (int64_t j = 0; j < mw.n_taps; ++j) {
        const int64_t a = floor_div(mh.off[i], sh),
                      b = floor_div(mw.off[j], sw);
        w.row0 = any ? imin(w.row0, a) : a;
        qh1 = any ? imax(qh1, a + mh.n_pos - 1) : a + mh.n_pos - 1;
        w.col0 = any ? imin(w.col0, b) : b;
        qw1 = any ? imax(qw1, b + mw.n_pos - 1) : b + mw.n_pos - 1;
        any = true;
      }
  }
  int64_t* hphase = st.ints(nh_all);
  w.h_phase = hphase;
  w.n_h_phase = distinct_phases(hv, nh_all, sh, hphase, hidx);
  w.rows = any ? qh1 - w.row0 + 1 : 0;
  if (w.halo) {
    int64_t* wphase = st.ints(nw_all);
    w.w_phase = wphase;
    w.n_w_phase = distinct_phases(wv, nw_all, sw, wphase, widx);
    w.row_len = any ? qw1 - w.col0 + 1 : 0;
    w.row_pitch = w.n_w_phase * w.row_len;
    w.slice_vals = w.n_h_phase * w.rows * w.row_pitch;
  } else {
    // Distinct width offsets: one shifted row each.
    int64_t* shift = st.ints(nw_all);
    w.shift = shift;
    for (int64_t i = 0; i < nw_all; ++i) {
      int64_t j = 0;
      while (j < w.n_shift && shift[j] != wv[i])
        ++j;
      if (j == w.n_shift)
        shift[w.n_shift++] = wv[i];
      widx[i] = j;
    }
    w.slice_vals = w.n_h_phase * w.n_shift * w.rows * w.shift_len;
  }
  w.plane_vals = imax(w.d_span, 1) * w.slice_vals;
  for (int64_t c = c0, oh = 0, ow = 0; c < c1; ++c) {
    PhasePlan& p = ph[c];
    const AxisTaps &mh = p.ax[1], &mw = p.ax[2];
    int64_t* hoff = st.ints(mh.n_taps);
    int64_t* woff = st.ints(mw.n_taps);
    p.h_off = hoff;
    p.w_off = woff;
    for (int64_t i = 0; i < mh.n_taps; ++i) {
      const int64_t q = floor_div(mh.off[i], sh) - w.row0;
      hoff[i] = w.halo ? hidx[oh + i] * w.rows * w.row_pitch + q * w.row_pitch
                       : hidx[oh + i] * w.n_shift * w.rows * w.shift_len +
                             q * w.shift_len;
    }
    for (int64_t i = 0; i < mw.n_taps; ++i)
      woff[i] = w.halo ? widx[ow + i] * w.row_len +
                             (floor_div(mw.off[i], sw) - w.col0)
                       : widx[ow + i] * w.rows * w.shift_len;
    oh += mh.n_taps;
    ow += mw.n_taps;
    int64_t *col_src, *col_dst;
    if (w.halo) {
      // A column is L consecutive jw of one row.
      const int64_t vr = ceil_div(p.n_w, L);
      p.pitch = direct ? p.n_w : vr * L;
      p.n_col = p.n_h * vr;
      col_src = st.ints(p.n_col);
      col_dst = st.ints(p.n_col);
      for (int64_t jh = 0, v = 0; jh < p.n_h; ++jh)
        for (int64_t w0 = 0; w0 < p.n_w; w0 += L, ++v) {
          col_src[v] = jh * w.row_pitch + w0;
          col_dst[v] = jh * p.pitch + w0;
        }
    } else {
      // A column is L consecutive positions of the plane, rows shift_len
      // apart.
      p.pitch = w.shift_len;
      p.n_col = ceil_div(p.n_h * w.shift_len, L);
      col_src = st.ints(p.n_col);
      col_dst = st.ints(p.n_col);
      for (int64_t v = 0; v < p.n_col; ++v)
        col_src[v] = col_dst[v] = v * L;
    }
    p.col_src = col_src;
    p.col_dst = col_dst;
    w.tile_row += p.n_col * L;
    // The weight's flat tap index of each tap, (depth, height, width) order.
    int64_t* wtap = st.ints(p.taps);
    p.w_tap = wtap;
    for (int64_t id = 0, j = 0; id < p.ax[0].n_taps; ++id)
      for (int64_t ih = 0; ih < mh.n_taps; ++ih)
        for (int64_t iw = 0; iw < mw.n_taps; ++iw, ++j)
          wtap[j] = (p.ax[0].tap[id] * kh + mh.tap[ih]) * kw + mw.tap[iw];
  }
  return w;
}

// ---- gather (fwd, bwd_data) -------------------------------------------------

// Estimated cost of one k step over an M x n_col block grid with mr rows.
int64_t block_cost(const Blocking& bl, int64_t mr, int64_t M, int64_t n_col) {
  const int64_t nvm = bl.nv_max(mr);
  int64_t cost = 0;
  for (int64_t m = 0; m < M; m += mr) {
    const int64_t rows = imin(mr, M - m);
    for (int64_t v = 0; v < n_col;) {
      const int64_t nb = ceil_div(n_col - v, nvm);
      const int64_t nv = ceil_div(n_col - v, nb);
      cost += imax(rows * nv, rows + nv + 1);
      v += nv;
    }
  }
  return cost;
}

int64_t choose_mr(const Blocking& bl, int64_t M, int64_t n_col) {
  int64_t best = 1, best_cost = -1;
  for (int64_t mr = 1; mr <= bl.mr_max && mr <= M; ++mr) {
    const int64_t c = block_cost(bl, mr, M, n_col);
    if (best_cost < 0 || c <= best_cost) {
      best = mr;
      best_cost = c;
    }
  }
  return best;
}

// The phases and windows of a gather: fwd has one phase (the output), its
// window direct; bwd_data has one phase per sub-pixel residue (rd, rh, rw)
// that holds positions, grouped into windows by rd.
void plan_phases(
    const ConvGeometry3d& g,
    Pass pass,
    int64_t L,
    PlanStorage& st,
    GatherPlan& gp) {
  std::vector<int64_t> window_start{0};
  if (pass == Pass::Fwd) {
    PhasePlan p;
    for (size_t a = 0; a < 3; ++a)
      p.ax[a] = conv_axis(g, a, st);
    st.phases.push_back(p);
    window_start.push_back(1);
  } else {
    std::vector<AxisTaps> axes[3];
    for (size_t a = 0; a < 3; ++a)
      for (int64_t r : transposed_phases(g, a))
        axes[a].push_back(transposed_axis(g, a, r, st));
    for (const AxisTaps& md : axes[0]) {
      if (md.n_pos == 0)
        continue;
      for (const AxisTaps& mh : axes[1])
        for (const AxisTaps& mw : axes[2]) {
          if (mh.n_pos == 0 || mw.n_pos == 0)
            continue;
          PhasePlan p;
          p.ax[0] = md;
          p.ax[1] = mh;
          p.ax[2] = mw;
          st.phases.push_back(p);
        }
      window_start.push_back(static_cast<int64_t>(st.phases.size()));
    }
  }
  const int64_t n_windows = static_cast<int64_t>(window_start.size()) - 1;
  for (int64_t wi = 0; wi < n_windows; ++wi) {
    const int64_t c0 = window_start[static_cast<size_t>(wi)];
    const int64_t c1 = window_start[static_cast<size_t>(wi + 1)];
    VOXGRAD_ASSERT(c1 > c0);
    const AxisTaps* ax = st.phases[static_cast<size_t>(c0)].ax;
    // Direct: one phase writing whole planes.
    const bool direct = c1 - c0 == 1 && ax[1].dst_step == 1 &&
                        ax[2].dst_step == 1 && ax[1].n_pos == gp.dst_dims[1] &&
                        ax[2].n_pos == gp.dst_dims[2];
    st.windows.push_back(plan_window(
        st.phases.data(), c0, c1, direct, L, g.kernel[1], g.kernel[2], st));
  }
  for (WindowPlan& w : st.windows) {
    w.w_off = gp.w_grp_vals;
    gp.w_grp_vals += gp.M * gp.C_src * w.taps;
  }
  gp.phases = st.phases.data();
  gp.n_phases = static_cast<int64_t>(st.phases.size());
  gp.windows = st.windows.data();
  gp.n_windows = n_windows;
}

void plan_gather(
    const ConvGeometry3d& g,
    Pass pass,
    const Blocking& bl,
    int64_t L,
    int64_t elem,
    PlanStorage& st,
    ConvPlan& plan) {
  GatherPlan& gp = plan.gather;
  const bool fwd = pass == Pass::Fwd;
  const int64_t G = g.groups;
  gp.M = fwd ? g.C_out_g() : g.C_in_g();
  gp.C_src = fwd ? g.C_in_g() : g.C_out_g();
  for (size_t a = 0; a < 3; ++a) {
    gp.src_dims[a] = fwd ? g.in[a] : g.out[a];
    gp.dst_dims[a] = fwd ? g.out[a] : g.in[a];
    gp.kernel[a] = g.kernel[a];
  }
  gp.w_rows_are_dst = fwd;
  plan_phases(g, pass, L, st, gp);
  const int64_t M = gp.M, C_src = gp.C_src, n_windows = gp.n_windows;
  const int64_t src_sp = gp.src_dims[0] * gp.src_dims[1] * gp.src_dims[2];
  const int64_t D12 = gp.dst_dims[1] * gp.dst_dims[2];
  const int64_t dst_sp = gp.dst_dims[0] * D12;
  const int64_t kvol = g.kernel_numel();
  const WindowPlan* win = gp.windows;
  const PhasePlan* ph = gp.phases;
  const bool direct = win[0].direct;  // the same for every window
  plan.path = direct ? Path::GatherDirect : Path::GatherTile;
  plan.layout = win[0].halo ? Layout::Halo : Layout::Shifted;
  int64_t max_ncol = 1;
  for (int64_t c = 0; c < gp.n_phases; ++c)
    max_ncol = imax(max_ncol, ph[c].n_col);

  // Channels per chunk (a function of the geometry only: it fixes the
  // order of each output's sum): the chunk's packed weights and its window,
  // for enough planes that each packed weight serves >= 32 columns, must
  // fit the workspace budget.
  const double op_vals = static_cast<double>(
      g.N * G * (C_src * src_sp + M * dst_sp) + G * M * C_src * kvol);
  const int64_t ws_budget =
      imax(kPackBudget + kWinBudget, static_cast<int64_t>(0.01 * op_vals));
  const int64_t tile_budget =
      imax(kTileBudget, static_cast<int64_t>(0.01 * op_vals));
  int64_t cc = C_src;
  for (int64_t wi = 0; wi < n_windows; ++wi) {
    const WindowPlan& w = win[wi];
    const int64_t nv = imax(1, w.tile_row / L / (w.phase1 - w.phase0));
    const int64_t dpw = iclamp(ceil_div(32, nv), 1, ph[w.phase0].n_d);
    const int64_t nsl = w.sd * (dpw - 1) + imax(w.d_span, 1);
    int64_t taps = 0;
    for (int64_t c = w.phase0; c < w.phase1; ++c)
      taps += ph[c].taps;
    const int64_t rows = w.direct ? M : imin(M, 16);
    const int64_t per_cc = rows * taps + nsl * w.slice_vals;
    cc = imin(cc, imax(1, ws_budget / imax(1, per_cc)));
  }
  gp.chunk = cc;
  gp.n_chunks = ceil_div(C_src, cc);
  const int64_t MR = choose_mr(bl, M, max_ncol);
  gp.MR = MR;
  gp.NV = bl.nv_max(MR);

  // Tasks: ranges of planes (and, in tile mode, of rows) of one window, so
  // that a task's window and tile fit their budgets.
  // Rows of a tile task holding dp planes.
  auto tile_rows = [&](int64_t wi, int64_t dp) {
    const int64_t mc = tile_budget / (dp * win[wi].tile_row) / MR * MR;
    return imin(imax(mc, MR), round_up(M, MR));
  };
  // Planes per task: about dp_target positions; in tile mode also enough
  // that each packed weight serves >= 32 columns, trading rows (>= 16) for
  // planes; the window must fit half the workspace budget.
  auto max_planes = [&](int64_t wi, int64_t dp_target) {
    const WindowPlan& w = win[wi];
    const int64_t ND = ph[w.phase0].n_d;
    int64_t dp = dp_target / imax(w.tile_row, 1);
    if (!w.direct) {
      const int64_t nv = imax(1, w.tile_row / L / (w.phase1 - w.phase0));
      dp = imin(dp, ceil_div(32, nv));
    }
    dp = iclamp(dp, 1, ND);
    if (w.slice_vals > 0) {  // the window: sd*(dp-1) + d_span slices
      const int64_t nsl_max =
          imax(ws_budget / 2 / (cc * w.slice_vals), w.d_span);
      dp = imin(dp, 1 + (nsl_max - w.d_span) / imax(w.sd, 1));
    }
    if (!w.direct)
      while (dp > 1 && (tile_rows(wi, dp) < imin(M, 16) ||
                        tile_rows(wi, dp) * dp * w.tile_row > tile_budget))
        --dp;
    return imax(dp, 1);
  };
  auto make_tasks = [&](int64_t dp_target, std::vector<GatherTask>* out) {
    int64_t n_tasks = 0;
    for (int64_t ng = 0; ng < g.N * G; ++ng)
      for (int64_t wi = 0; wi < n_windows; ++wi) {
        const int64_t ND = ph[win[wi].phase0].n_d;
        const int64_t dp = max_planes(wi, dp_target);
        const int64_t mc = win[wi].direct ? M : tile_rows(wi, dp);
        for (int64_t jd = 0; jd < ND; jd += dp)
          for (int64_t m = 0; m < M; m += mc) {
            if (out)
              out->push_back(
                  {ng, wi, jd, imin(ND, jd + dp), m, imin(M, m + mc)});
            ++n_tasks;
          }
      }
    return n_tasks;
  };
  int64_t dp_target = 2048;
  int64_t n_tasks = make_tasks(dp_target, nullptr);
  while (n_tasks < kMinTasks && dp_target > 1) {
    dp_target /= 2;
    n_tasks = make_tasks(dp_target, nullptr);
  }
  st.gather_tasks.reserve(static_cast<size_t>(n_tasks));
  make_tasks(dp_target, &st.gather_tasks);
  gp.tasks = st.gather_tasks.data();
  gp.n_tasks = n_tasks;

  // Buffer sizes: the most any task needs.
  for (const GatherTask& t : st.gather_tasks) {
    const WindowPlan& w = win[t.window];
    int64_t ks = 0;
    for (int64_t c = w.phase0; c < w.phase1; ++c)
      ks += cc * ph[c].taps;
    gp.n_offsets = imax(gp.n_offsets, ks);
    if (!w.direct)
      gp.tile_vals = imax(
          gp.tile_vals,
          (t.jd1 - t.jd0) * round_up(t.m1 - t.m0, MR) * w.tile_row);
    const int64_t nsl = w.sd * (t.jd1 - t.jd0 - 1) + w.d_span;
    gp.window_vals = imax(gp.window_vals, cc * nsl * w.slice_vals);
  }
  gp.stream = g.N * G * M * dst_sp * elem >= (int64_t{32} << 20);
  plan.n_tasks = n_tasks;
  const int64_t L4 = 4 * L;
  plan.task_bytes =
      elem *
          (gp.window_vals + L4 +
           (direct ? MR * L : gp.tile_vals + 2 * L + (gp.stream ? D12 : 0))) +
      4 * gp.n_offsets + 8 * (gp.n_phases + 1);
  plan.shared_bytes = elem * G * gp.w_grp_vals;
}

// ---- weight gradient ----------------------------------------------------------

// Into how many ordered parts R <= 16 (of the red steps the geometry has)
// the (n, plane) reduction is split: as many as keep the R partial results
// under 1 % of the op's bytes (x, dy and dw).
int64_t wgrad_parts(
    double op_bytes, int64_t dw_numel, int64_t elem, int64_t red) {
  const double dw_bytes =
      static_cast<double>(dw_numel) * static_cast<double>(elem);
  return iclamp(
      static_cast<int64_t>(0.01 * op_bytes / dw_bytes), 1, imin(16, red));
}

// Every (group, channel chunk of cc, row chunk of mc, part r < R), in that
// order.
void fill_wgrad_tasks(
    std::vector<WgradTask>& tasks,
    int64_t G,
    int64_t C,
    int64_t cc,
    int64_t M,
    int64_t mc,
    int64_t R) {
  for (int64_t grp = 0; grp < G; ++grp)
    for (int64_t c0 = 0; c0 < C; c0 += cc)
      for (int64_t m0 = 0; m0 < M; m0 += mc)
        for (int64_t r = 0; r < R; ++r)
          tasks.push_back({grp, c0, imin(cc, C - c0), m0, imin(M, m0 + mc), r});
}

void plan_wgrad(
    const ConvGeometry3d& g,
    bool channels_ok,
    const Blocking& bl,
    int64_t L,
    int64_t elem,
    PlanStorage& st,
    ConvPlan& plan) {
  WgradPlan& wp = plan.wgrad;
  const int64_t G = g.groups, M = g.C_out_g(), C = g.C_in_g();
  wp.Cig = C;
  wp.Cog = M;
  for (size_t a = 0; a < 3; ++a) {
    wp.in[a] = g.in[a];
    wp.out[a] = g.out[a];
    wp.kernel[a] = g.kernel[a];
    wp.phase.ax[a] = conv_axis(g, a, st);
  }
  wp.window =
      plan_window(&wp.phase, 0, 1, true, L, g.kernel[1], g.kernel[2], st);
  const PhasePlan& p = wp.phase;
  const WindowPlan& win = wp.window;
  const int64_t kvol = g.kernel_numel(), dw_numel = g.w_numel();
  const int64_t in_sp = g.in_numel(), out_sp = g.out_numel();
  const int64_t P = p.n_pos, ND = p.n_d;
  const bool channels = channels_ok && M >= 32;
  plan.path = channels ? Path::WgradChannels : Path::WgradLanes;
  plan.layout = win.halo ? Layout::Halo : Layout::Shifted;
  const int64_t red = g.N * ND;
  const double op_bytes =
      static_cast<double>(g.N * G * (C * in_sp + M * out_sp) + dw_numel) *
      static_cast<double>(elem);
  // Packed values per x value, times their relative cost (packing a value
  // costs a few times reading one; shifted rows cost twice as much).
  const double expansion = static_cast<double>(ND * win.sd * win.slice_vals) /
                           static_cast<double>(imax(in_sp, 1));
  const double pack_cost = expansion * (win.halo ? 2.0 : 4.0);

  // Rows (mc) and channels (cc) per task, the cheapest traffic among the
  // shapes whose accumulators fit the budget, preferring >= kMinTasks
  // tasks. Both are functions of the geometry: cc sets the planes per batch
  // (db), and WgradLanes adds the partial last vectors of a batch's planes
  // after their whole columns, so db (like the split R) fixes the order of
  // each lane's sum.
  int64_t mc = channels ? L : bl.wmr, cc = 1;
  double best = -1;
  bool best_enough = false;
  for (int64_t c = 1; c <= C; ++c) {
    if (c > 1 && c * win.plane_vals > kPackBudget * 4)
      break;
    int64_t m = 0;
    double traffic = 0;
    if (channels) {
      // Balanced row chunks (no small remainder block of channels).
      const int64_t mmax = kChanBudget / (c * kvol) / L * L;
      if (mmax < L)
        break;
      m = round_up(M, L);
      for (int64_t k = 2; m > mmax; ++k)
        m = round_up(ceil_div(M, k), L);
      // Cycle estimate per sample: the multiply-adds at the efficiency of
      // the channel blocks m gives (4 or 3 vectors: full, 2: 0.7, 1: 0.4),
      // dy transposed once per channel chunk, x packed once per row chunk.
      const int64_t nvc = m / L, nb = ceil_div(nvc, detail::kChanNCV);
      const int64_t ncv = ceil_div(nvc, nb);
      const double eff = ncv >= 3 ? 1.0 : (ncv == 2 ? 0.7 : 0.4);
      const double fma = static_cast<double>(round_up(M, m)) /
                         static_cast<double>(L) *
                         static_cast<double>(C * kvol * out_sp) / 2.0 / eff;
      traffic = fma +
                0.25 * static_cast<double>(ceil_div(C, c)) *
                    static_cast<double>(M * out_sp) +
                0.25 * static_cast<double>(ceil_div(M, m)) *
                    static_cast<double>(C * in_sp) * pack_cost;
    } else {
      // Every task reads dy for its rows and packs x for its channels.
      m = imin(
          round_up(M, bl.wmr), kAccBudget / (c * kvol * L) / bl.wmr * bl.wmr);
      if (m < bl.wmr)
        break;
      traffic = static_cast<double>(ceil_div(C, c)) *
                    static_cast<double>(M * out_sp) +
                static_cast<double>(ceil_div(M, m)) *
                    static_cast<double>(C * in_sp) * pack_cost;
    }
    const bool enough = G * ceil_div(C, c) * ceil_div(M, m) >= kMinTasks;
    if (best < 0 || (enough && !best_enough) ||
        (enough == best_enough && traffic < best)) {
      best = traffic;
      best_enough = enough;
      mc = m;
      cc = c;
    }
  }
  wp.rows = mc;
  wp.chunk = cc;
  const int64_t R = g.N > 0 ? wgrad_parts(op_bytes, dw_numel, elem, red) : 1;
  wp.parts = R;
  if (g.N > 0)
    fill_wgrad_tasks(st.wgrad_tasks, G, C, cc, M, mc, R);
  wp.tasks = st.wgrad_tasks.data();
  wp.n_tasks = static_cast<int64_t>(st.wgrad_tasks.size());
  plan.n_tasks = wp.n_tasks;

  // Planes per batch: they share one window (WgradLanes: at most 2 *
  // kWinBudget values, and about 1024 positions per kernel call;
  // WgradChannels: at most 0.5 % of the op's values).
  const int64_t win_budget =
      channels ? imax(
                     8192, static_cast<int64_t>(
                               0.005 * op_bytes / static_cast<double>(elem)))
               : 2 * kWinBudget;
  int64_t db = channels
                   ? detail::kMaxBatch
                   : iclamp(ceil_div(1024, imax(P, 1)), 1, detail::kMaxBatch);
  for (;; db /= 2) {
    wp.window_vals = cc * (win.sd * (db - 1) + win.d_span) * win.slice_vals;
    if (db == 1 || wp.window_vals <= win_budget)
      break;
  }
  wp.batch = db;

  if (channels) {
    int32_t* qoff = st.ints32(P);
    for (int64_t jh = 0, q = 0; jh < p.n_h; ++jh)
      for (int64_t jw = 0; jw < p.n_w; ++jw, ++q)
        qoff[q] = static_cast<int32_t>(
            jh * (win.halo ? win.row_pitch : win.shift_len) + jw);
    wp.pos_off = qoff;
    const int64_t mcp = round_up(mc, L), kmax = cc * kvol;
    plan.task_bytes =
        elem * (kmax * mcp + wp.window_vals + 4 * L + imax(P, 1) * mcp) +
        4 * kmax;
  } else {
    wp.WMR = bl.wmr;
    wp.WNC = bl.wnc;
    // Whole columns (halo: every one; shifted: all but a partial last one).
    wp.n_full = win.halo ? p.n_col : P / L;
    wp.rem = P - wp.n_full * L;
    int32_t* col = st.ints32(wp.n_full);
    for (int64_t v = 0; v < wp.n_full; ++v)
      col[v] = static_cast<int32_t>(p.col_src[v]);
    wp.col = col;
    wp.acc_entries = round_up(cc * kvol, bl.wnc);
    plan.task_bytes = elem * (round_up(mc, bl.wmr) * wp.acc_entries * L +
                              wp.window_vals + 4 * L + (bl.wmr + bl.wnc) * L) +
                      4 * wp.acc_entries;
  }
  plan.shared_bytes = R > 1 ? R * dw_numel * elem : 0;
}

const detail::IsaInfo& info_of(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return detail::kIsaAvx512;
    case Isa::Avx2:
      return detail::kIsaAvx2;
    default:
      return detail::kIsaGeneric;
  }
}

// NOTE [ When im2col + GEMM ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The gather and wgrad executors vectorise over output positions: with 8
// positions per sample (a 4³ -> 2³ layer) an AVX-512 vector is half empty
// and packing the windows costs more than the multiply (the WGAN-GP
// critic's 32 -> 64 layer at 4³ -> 2³ took 3.2-3.8 ms per pass; im2col +
// GEMM takes 0.7-1.6 ms). A GEMM vectorises over channels instead, so it
// wins when the output is small and the channels are not: at most 32
// positions per sample, a reduction K = C_in * prod(k) of at least 256 and
// at least 16 output channels. At 64 positions (the critic's 16 -> 32 layer
// at 8³ -> 4³) it already lost: the im2col matrix and the col2im scatter
// cost more than the gather's half-empty vectors (bwd_data 2.1 -> 4.8 ms).
// One conv group only (grouped convs keep their executors), and the im2col
// matrix (N * P x K) at most 32 MiB, so its workspace stays within the
// per-thread stack that is kept across calls. No SPEC §3 shape qualifies
// (the smallest output there is gan_up1's 8³ = 512 positions).
bool im2col_wins(const ConvGeometry3d& g, int64_t elem) {
  const int64_t P = g.out_numel();
  if (g.groups != 1 || P > 32 || g.C_out < 16)
    return false;
  const double K =
      static_cast<double>(g.C_in) * static_cast<double>(g.kernel_numel());
  const double col_bytes = static_cast<double>(g.N) * static_cast<double>(P) *
                           K * static_cast<double>(elem);
  return K >= 256 && col_bytes <= 32.0 * 1024 * 1024;
}

void plan_im2col(const ConvGeometry3d& g, int64_t elem, ConvPlan& plan) {
  plan.path = Path::Im2colGemm;
  const int64_t P = g.out_numel(), K = g.C_in * g.kernel_numel();
  plan.im2col_rows = plan.pass == Pass::BwdData ? P : g.N * P;
  plan.im2col_k = K;
  plan.im2col_cols = g.C_out;
  plan.n_tasks = 0;  // the GEMM splits its output itself
  // col (or dcol) and the transposed output / dy, on the calling thread.
  const int64_t other = plan.pass == Pass::BwdData ? 0 : g.N * P * g.C_out;
  plan.task_bytes = (g.N * P * K + other) * elem;
  plan.shared_bytes = 0;
}

std::string kib(int64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0fKiB", static_cast<double>(bytes) / 1024.0);
  return b;
}

}  // namespace

const char* pass_name(Pass pass) {
  switch (pass) {
    case Pass::Fwd:
      return "fwd";
    case Pass::BwdData:
      return "bwd_data";
    case Pass::BwdWeight:
      return "bwd_weight";
  }
  return "?";
}

const char* path_name(Path path) {
  switch (path) {
    case Path::GatherDirect:
      return "gather/direct";
    case Path::GatherTile:
      return "gather/tile";
    case Path::WgradLanes:
      return "wgrad/lanes";
    case Path::WgradChannels:
      return "wgrad/channels";
    case Path::Im2colGemm:
      return "gemm/im2col";
  }
  return "?";
}

const char* layout_name(Layout layout) {
  return layout == Layout::Halo ? "halo" : "shifted";
}

std::string ConvPlan::path_str() const {
  std::string s = path_name(path);
  if (path == Path::Im2colGemm)
    return s;
  s += "/";
  s += layout_name(layout);
  return s;
}

std::string ConvPlan::str() const {
  // Appended piece by piece (GCC 12 warns falsely on chains of string +).
  std::string s = isa_label;
  auto add = [&s](const std::string& piece) {
    s += " ";
    s += piece;
  };
  auto put = [&s](const char* key, int64_t v) {
    s += " ";
    s += key;
    s += "=";
    s += std::to_string(v);
  };
  auto put2 = [&s](const char* key, int64_t a, int64_t b) {
    s += " ";
    s += key;
    s += "=";
    s += std::to_string(a);
    s += "/";
    s += std::to_string(b);
  };
  add(dtype_name(dtype));
  add(path_str());
  put("L", lanes);
  if (path == Path::GatherDirect || path == Path::GatherTile) {
    put("MR", gather.MR);
    put("NV", gather.NV);
    put2("chunk", gather.chunk, gather.C_src);
    put("phases", gather.n_phases);
  } else if (path == Path::Im2colGemm) {
    put("rows", im2col_rows);
    put("K", im2col_k);
    put("cols", im2col_cols);
  } else {
    if (path == Path::WgradLanes) {
      put("MR", wgrad.WMR);
      put("NC", wgrad.WNC);
    }
    put2("rows", wgrad.rows, wgrad.Cog);
    put2("chunk", wgrad.chunk, wgrad.Cig);
    put("parts", wgrad.parts);
    put("batch", wgrad.batch);
  }
  put("tasks", n_tasks);
  add("ws=");
  s += kib(task_bytes);
  s += "/thread";
  if (shared_bytes > 0) {
    s += "+";
    s += kib(shared_bytes);
  }
  return s;
}

ConvPlan conv3d_plan(
    const ConvGeometry3d& geometry, Pass pass, Isa isa, Dtype dtype) {
  // Planned on canonical(): a step that cannot matter (stride INT64_MAX
  // along an axis with one output) is made small, so no index multiplies
  // by it.
  const ConvGeometry3d g = geometry.canonical();
  ConvPlan plan;
  plan.pass = pass;
  plan.isa = isa == Isa::Auto ? conv3d_active_isa() : isa;
  const detail::IsaInfo& info = info_of(plan.isa);
  plan.isa_label = info.name;
  plan.dtype = dtype;
  const auto elem = static_cast<int64_t>(itemsize(dtype));
  plan.lanes = info.vector_bytes / elem;
  plan.N = g.N;
  plan.G = g.groups;
  const Blocking bl = detail::blocking_for(info.vector_bytes);
  auto st = std::make_shared<PlanStorage>();
  if (im2col_wins(g, elem)) {
    plan_im2col(g, elem, plan);
  } else if (pass == Pass::BwdWeight) {
    // Vectorised over output channels only where it was tuned: AVX-512
    // float (16 lanes, 32 registers).
    const bool channels_ok = info.vector_bytes == 64 && dtype == kFloat32;
    plan_wgrad(g, channels_ok, bl, plan.lanes, elem, *st, plan);
  } else {
    plan_gather(g, pass, bl, plan.lanes, elem, *st, plan);
  }
  plan.storage = std::move(st);
  return plan;
}

}  // namespace voxgrad::kernels
