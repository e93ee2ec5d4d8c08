#pragma once
// The gather engine: conv3d forward and conv3d backward-data (the forward of
// ConvTranspose3d).
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/pack_window.hpp"

namespace voxgrad::kernels::detail {
namespace {

// ---- gather -----------------------------------------------------------------

// Workspace budgets, in values per thread. The gather scales them with the
// op (1 % of its input + output + weight values each for the packed
// weights + window and for the tile, at least these floors), so that the
// extra memory stays well under 5 % at 2 threads.
constexpr int64_t kPackBudget = 8192;   // packed values per channel chunk
constexpr int64_t kWinBudget = 16384;   // packed values of a task's window
constexpr int64_t kTileBudget = 32768;  // tile values per task (tile mode)

// Estimated cost of one k step over an M x nvec block grid with MR rows.
template <class T, class A>
int64_t block_cost(int mr, int64_t M, int64_t nvec) {
  using Tn = Tune<T, A>;
  const int64_t nvm = Tn::nv_max(mr);
  int64_t cost = 0;
  for (int64_t m = 0; m < M; m += mr) {
    const int64_t rows = imin(mr, M - m);
    for (int64_t v = 0; v < nvec;) {
      const int64_t nb = cdiv(nvec - v, nvm);
      const int64_t nv = cdiv(nvec - v, nb);
      cost += imax(rows * nv, rows + nv + 1);
      v += nv;
    }
  }
  return cost;
}

template <class T, class A>
int choose_mr(int64_t M, int64_t nvec) {
  using Tn = Tune<T, A>;
  int best = 1;
  int64_t best_cost = -1;
  for (int mr = 1; mr <= Tn::kMR && mr <= M; ++mr) {
    const int64_t c = block_cost<T, A>(mr, M, nvec);
    if (best_cost < 0 || c <= best_cost) {
      best = mr;
      best_cost = c;
    }
  }
  return best;
}

struct GatherTask {
  int64_t ng, group, jd0, jd1, m0, m1;
};

template <class T, class A>
void gather(const GatherArgs<T>& g) {
  using Tn = Tune<T, A>;
  constexpr int64_t L = Tn::L;
  const KernelTable<T, A>& kt = kernel_table<T, A>();
  if (g.N == 0 || g.n_groups == 0)
    return;
  const int64_t G = g.G, M = g.M, C_src = g.C_src;
  const int64_t src_sp = g.src_dims[0] * g.src_dims[1] * g.src_dims[2];
  const int64_t D12 = g.dst_dims[1] * g.dst_dims[2];
  const int64_t dst_sp = g.dst_dims[0] * D12;
  const int64_t kvol = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t n_groups = g.n_groups;
  const int64_t n_classes = g.group_start[n_groups];

  // Plans: a group is direct when it is one class writing whole planes.
  Scratch<int64_t> pool_mem(
      plan_pool_size(g.classes, 0, n_classes, L) + 16 * n_groups);
  Pool pool{pool_mem.get()};
  Scratch<ClassPlan> plans(n_classes);
  Scratch<GroupPlan> gplans(n_groups);
  int64_t per_c = 1, max_nvec = 1;
  for (int64_t gi = 0; gi < n_groups; ++gi) {
    const int64_t c0 = g.group_start[gi], c1 = g.group_start[gi + 1];
    const AxisView* ax = g.classes[c0].ax;
    const bool direct = c1 - c0 == 1 && ax[1].dst_step == 1 &&
                        ax[2].dst_step == 1 && ax[1].n_pos == g.dst_dims[1] &&
                        ax[2].n_pos == g.dst_dims[2];
    gplans[gi] = GroupPlan{};
    plan_group(g.classes, c0, c1, direct, L, pool, plans.get(), gplans[gi]);
    per_c = imax(per_c, gplans[gi].per_c);
    for (int64_t c = c0; c < c1; ++c)
      max_nvec = imax(max_nvec, plans[c].nvec);
  }
  // Channels per chunk, rows and columns per register block: functions of
  // the geometry only (they fix the order of each output's sum).
  // Channels per chunk (a function of the geometry only): the chunk's
  // packed weights and its window, for enough planes that each packed
  // weight serves >= 32 columns, must fit the workspace budget.
  const double op_vals = static_cast<double>(
      g.N * G * (C_src * src_sp + M * dst_sp) + G * M * C_src * kvol);
  const int64_t ws_budget =
      imax(kPackBudget + kWinBudget, static_cast<int64_t>(0.01 * op_vals));
  const int64_t tile_budget =
      imax(kTileBudget, static_cast<int64_t>(0.01 * op_vals));
  int64_t cc = C_src;
  for (int64_t gi = 0; gi < n_groups; ++gi) {
    const GroupPlan& gp = gplans[gi];
    const ClassPlan& p0 = plans[gp.c0];
    const int64_t nv = imax(1, gp.tile_row / L / (gp.c1 - gp.c0));
    const int64_t dpw = iclamp(cdiv(32, nv), 1, p0.ND);
    const int64_t nsl = gp.sd * (dpw - 1) + imax(gp.dspan, 1);
    int64_t taps = 0;
    for (int64_t c = gp.c0; c < gp.c1; ++c)
      taps += plans[c].taps;
    const int64_t rows = gp.direct ? M : imin(M, 16);
    const int64_t per_cc = rows * taps + nsl * gp.cs;
    cc = imin(cc, imax(1, ws_budget / imax(1, per_cc)));
  }
  const int64_t n_chunks = cdiv(C_src, cc);
  const int MR = choose_mr<T, A>(M, max_nvec);
  const int64_t nvm = Tn::nv_max(MR);

  // Tasks: ranges of planes (and, in tile mode, of rows) of one group, so
  // that a task's window and tile fit their budgets.
  // Rows of a tile task holding dp planes.
  auto tile_rows = [&](int64_t gi, int64_t dp) {
    const int64_t mc = tile_budget / (dp * gplans[gi].tile_row) / MR * MR;
    return imin(imax(mc, MR), rup(M, MR));
  };
  // Planes per task: about dp_target positions; in tile mode also enough
  // that each packed weight serves >= 32 columns, trading rows (>= 16)
  // for planes; the window must fit half the workspace budget.
  auto max_planes = [&](int64_t gi, int64_t dp_target) {
    const GroupPlan& gp = gplans[gi];
    const int64_t ND = plans[gp.c0].ND;
    int64_t dp = dp_target / imax(gp.tile_row, 1);
    if (!gp.direct) {
      const int64_t nv = imax(1, gp.tile_row / L / (gp.c1 - gp.c0));
      dp = imin(dp, cdiv(32, nv));
    }
    dp = iclamp(dp, 1, ND);
    if (gp.cs > 0) {  // the window: sd*(dp-1) + dspan slices
      const int64_t nsl_max = imax(ws_budget / 2 / (cc * gp.cs), gp.dspan);
      dp = imin(dp, 1 + (nsl_max - gp.dspan) / imax(gp.sd, 1));
    }
    if (!gp.direct)
      while (dp > 1 && (tile_rows(gi, dp) < imin(M, 16) ||
                        tile_rows(gi, dp) * dp * gp.tile_row > tile_budget))
        --dp;
    return imax(dp, 1);
  };
  auto count_tasks = [&](int64_t dp_target, GatherTask* out) {
    int64_t n_tasks = 0;
    for (int64_t ng = 0; ng < g.N * G; ++ng)
      for (int64_t gi = 0; gi < n_groups; ++gi) {
        const int64_t ND = plans[gplans[gi].c0].ND;
        const int64_t dp = max_planes(gi, dp_target);
        const int64_t mc = gplans[gi].direct ? M : tile_rows(gi, dp);
        for (int64_t jd = 0; jd < ND; jd += dp)
          for (int64_t m = 0; m < M; m += mc) {
            if (out)
              out[n_tasks] = {
                  ng, gi, jd, imin(ND, jd + dp), m, imin(M, m + mc)};
            ++n_tasks;
          }
      }
    return n_tasks;
  };
  int64_t dp_target = 2048;
  int64_t n_tasks = count_tasks(dp_target, nullptr);
  while (n_tasks < kMinTasks && dp_target > 1) {
    dp_target /= 2;
    n_tasks = count_tasks(dp_target, nullptr);
  }
  Scratch<GatherTask> tasks(n_tasks);
  count_tasks(dp_target, tasks.get());

  // Workspace sizes: the maximum over tasks.
  int64_t max_k = 1, max_a = 1, max_tile = 1, max_b = 1;
  for (int64_t ti = 0; ti < n_tasks; ++ti) {
    const GatherTask& t = tasks[ti];
    const GroupPlan& gp = gplans[t.group];
    int64_t ks = 0;
    for (int64_t c = gp.c0; c < gp.c1; ++c)
      ks += cc * plans[c].taps;
    max_k = imax(max_k, ks);
    max_a = imax(max_a, rup(t.m1 - t.m0, MR) * ks);
    if (!gp.direct)
      max_tile =
          imax(max_tile, (t.jd1 - t.jd0) * rup(t.m1 - t.m0, MR) * gp.tile_row);
    const int64_t nsl = gp.sd * (t.jd1 - t.jd0 - 1) + gp.dspan;
    max_b = imax(max_b, cc * nsl * gp.cs);
  }
  const bool big_output =
      g.N * g.G * M * dst_sp * static_cast<int64_t>(sizeof(T)) >=
      (int64_t{32} << 20);

  parallel_for(0, n_tasks, 1, [&](int64_t tb, int64_t te) {
    Scratch<T> bbuf(max_b + 4 * L);
    Scratch<T> abuf(max_a);
    Scratch<int32_t> boff(max_k);
    Scratch<T> tile(max_tile + 2 * L);
    Scratch<T> plane(big_output ? D12 : 1);
    Scratch<T> tail(Tn::kMR * L);
    Scratch<int64_t> koffs(2 * (n_classes + 1));
    Scratch<int64_t> ctaps(kvol);
    std::memset(bbuf.get() + max_b, 0, 4 * L * sizeof(T));
    const T* bcols[Tn::kNV];
    T* ccols[Tn::kNV];
    bool streamed = false;
    for (int64_t ti = tb; ti < te; ++ti) {
      const GatherTask& t = tasks[ti];
      const GroupPlan& gp = gplans[t.group];
      const int64_t grp = t.ng % G;
      const int64_t cls0 = gp.c0, cls1 = gp.c1;
      const bool direct = gp.direct;
      const int64_t rows = t.m1 - t.m0;
      const int64_t rblocks = cdiv(rows, MR);
      const T* src_n = g.src + t.ng * C_src * src_sp;
      T* dst_n = g.dst + t.ng * M * dst_sp;
      const T* bias_n = g.bias ? g.bias + grp * M : nullptr;
      const AxisView& md = plans[cls0].cv->ax[0];
      const int64_t nsl = gp.sd * (t.jd1 - t.jd0 - 1) + gp.dspan;
      const int64_t s_lo = gp.sd * t.jd0 + gp.dmin;
      const int64_t plane_tile = rblocks * MR * gp.tile_row;
      for (int64_t ch = 0; ch < n_chunks; ++ch) {
        const int64_t c0 = ch * cc, ccn = imin(cc, C_src - c0);
        const bool last = ch + 1 == n_chunks;
        // Weights and offsets of every class of the group for this chunk.
        int64_t a_off = 0, k_off = 0;
        for (int64_t cl = cls0; cl < cls1; ++cl) {
          const ClassPlan& p = plans[cl];
          const AxisView* ax = p.cv->ax;
          const int64_t K = ccn * p.taps;
          koffs[2 * (cl - cls0)] = a_off;
          koffs[2 * (cl - cls0) + 1] = k_off;
          gather_offsets(gp, p, ccn, nsl, boff.get() + k_off);
          // The class's taps in (depth, height, width) order.
          int64_t* ctap = ctaps.get();
          for (int64_t id = 0, j = 0; id < p.nt[0]; ++id)
            for (int64_t ih = 0; ih < p.nt[1]; ++ih)
              for (int64_t iw = 0; iw < p.nt[2]; ++iw, ++j)
                ctap[j] = (ax[0].tap[id] * g.kernel[1] + ax[1].tap[ih]) *
                              g.kernel[2] +
                          ax[2].tap[iw];
          // W(m, c, tap) = w[m*rs + c*cst + tap] from the chunk's corner.
          const int64_t rs = g.w_rows_are_dst ? C_src * kvol : kvol;
          const int64_t cst = g.w_rows_are_dst ? kvol : M * kvol;
          const T* wg = g.w_rows_are_dst
                            ? g.w + ((grp * M + t.m0) * C_src + c0) * kvol
                            : g.w + ((grp * C_src + c0) * M + t.m0) * kvol;
          const int64_t thw = p.nt[1] * p.nt[2];
          for (int64_t rb = 0; rb < rblocks; ++rb) {
            const int64_t mr = imin(MR, rows - rb * MR);
            T* ab = abuf.get() + a_off + rb * MR * K;
            const T* wr = wg + rb * MR * rs;
            for (int64_t id = 0, k = 0; id < p.nt[0]; ++id)
              for (int64_t c = 0; c < ccn; ++c) {
                const T* wc = wr + c * cst;
                for (int64_t j = id * thw; j < (id + 1) * thw; ++j, ++k) {
                  const T* src = wc + ctap[j];
                  T* dstk = ab + k * mr;
                  for (int64_t r = 0; r < mr; ++r)
                    dstk[r] = src[r * rs];
                }
              }
          }
          a_off += rblocks * MR * K;
          k_off += K;
        }
        pack_window<T, A>(
            gp, src_n, g.src_dims, c0, ccn, s_lo, nsl, bbuf.get());
        for (int64_t jd = t.jd0; jd < t.jd1; ++jd) {
          int64_t id_lo = 0, id_hi = 0;
          depth_taps(md, jd, id_lo, id_hi);
          int64_t tile_off = (jd - t.jd0) * plane_tile;
          for (int64_t cl = cls0; cl < cls1; ++cl) {
            const ClassPlan& p = plans[cl];
            const int64_t K = ccn * p.taps;
            const int64_t per_id = ccn * p.nt[1] * p.nt[2];
            const int64_t k0 = id_lo * per_id, k1 = imax(k0, id_hi * per_id);
            const T* ab = abuf.get() + koffs[2 * (cl - cls0)];
            const int32_t* bo = boff.get() + koffs[2 * (cl - cls0) + 1] + k0;
            const T* bb = bbuf.get() + gp.sd * (jd - t.jd0) * gp.cs;
            // Destination of row 0 and its row stride.
            T* c_base;
            int64_t ldc;
            int flags = ch > 0 ? kAccum : 0;
            if (direct) {
              c_base =
                  dst_n + t.m0 * dst_sp + (md.dst_step * jd + md.dst_off) * D12;
              ldc = dst_sp;
              if (last && bias_n)
                flags |= kBias;
              if (n_chunks == 1 && big_output && ldc % L == 0 &&
                  reinterpret_cast<uintptr_t>(c_base) % (L * sizeof(T)) == 0)
                flags |= kStream;
            } else {
              c_base = tile.get() + tile_off;
              ldc = p.nvec * L;
              tile_off += rblocks * MR * ldc;
            }
            // Whole columns; a direct expanded class may end in a partial
            // one, done below through `tail`.
            const int64_t nfull = direct && !gp.halo ? p.P / L : p.nvec;
            for (int64_t v0 = 0; v0 < nfull;) {
              const int64_t nb = cdiv(nfull - v0, nvm);
              const int64_t nv = cdiv(nfull - v0, nb);
              for (int64_t v = 0; v < nv; ++v)
                bcols[v] = bb + p.colb[v0 + v];
              for (int64_t rb = 0; rb < rblocks; ++rb) {
                const int64_t mr = imin(MR, rows - rb * MR);
                T* cb = c_base + rb * MR * ldc;
                for (int64_t v = 0; v < nv; ++v)
                  ccols[v] = cb + p.colc[v0 + v];
                kt.gemm[mr][nv](
                    k1 - k0, ab + rb * MR * K + k0 * mr, bcols, bo, ccols, ldc,
                    flags, bias_n ? bias_n + t.m0 + rb * MR : nullptr);
              }
              v0 += nv;
            }
            if (flags & kStream)
              streamed = true;
            if (direct && !gp.halo && nfull * L < p.P) {
              const int64_t q0 = nfull * L, rem = p.P - q0;
              bcols[0] = bb + q0;
              T* tl = tail.get();
              for (int64_t rb = 0; rb < rblocks; ++rb) {
                const int64_t mr = imin(MR, rows - rb * MR);
                T* cr = c_base + rb * MR * ldc + q0;
                for (int64_t r = 0; r < mr; ++r)
                  for (int64_t l = 0; l < L; ++l)
                    tl[r * L + l] = ch > 0 && l < rem ? cr[r * ldc + l] : T(0);
                kt.gemm[mr][1](
                    k1 - k0, ab + rb * MR * K + k0 * mr, bcols, bo, &tl, L,
                    flags & ~kStream,
                    bias_n ? bias_n + t.m0 + rb * MR : nullptr);
                for (int64_t r = 0; r < mr; ++r)
                  for (int64_t l = 0; l < rem; ++l)
                    cr[r * ldc + l] = tl[r * L + l];
              }
            }
          }
        }
      }
      for (int64_t jd = t.jd0; jd < t.jd1 && !direct; ++jd) {
        // Interleave the phases into each destination slice, adding bias:
        // classes come in runs sharing the height phase; two width phases
        // of stride 2 are zipped, anything else is scattered.
        T* slice0 = dst_n + (md.dst_step * jd + md.dst_off) * D12;
        const int64_t D2 = g.dst_dims[2];
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t m = t.m0 + r;
          const T b = bias_n ? bias_n[m] : T(0);
          T* slice_m = slice0 + m * dst_sp;
          T* slice = big_output ? plane.get() : slice_m;
          int64_t toff = (jd - t.jd0) * plane_tile;
          for (int64_t cl = cls0; cl < cls1;) {
            int64_t ce = cl + 1;
            while (ce < cls1 &&
                   plans[ce].cv->ax[1].dst_off == plans[cl].cv->ax[1].dst_off)
              ++ce;
            const AxisView& mh = plans[cl].cv->ax[1];
            const T* tr[2] = {nullptr, nullptr};
            int64_t tp[2] = {0, 0}, nws[2] = {0, 0}, ldts = 0;
            for (int64_t c = cl; c < ce; ++c) {
              const int64_t ldt = plans[c].nvec * L;
              const AxisView& mw = plans[c].cv->ax[2];
              if (ce - cl == 2 && mw.dst_step == 2) {
                tr[mw.dst_off] = tile.get() + toff + ldts + r * ldt;
                tp[mw.dst_off] = plans[c].tpitch;
                nws[mw.dst_off] = plans[c].NW;
              }
              ldts += rblocks * MR * ldt;
            }
            if (tr[0] && tr[1] && nws[0] + nws[1] == D2) {
              for (int64_t jh = 0; jh < plans[cl].NH; ++jh)
                zip_rows<T, A>(
                    slice + (mh.dst_step * jh + mh.dst_off) * D2,
                    tr[0] + jh * tp[0], tr[1] + jh * tp[1], D2, b);
            } else {
              int64_t o2 = 0;
              for (int64_t c = cl; c < ce; ++c) {
                const ClassPlan& pc = plans[c];
                const AxisView& mw = pc.cv->ax[2];
                const T* trc = tile.get() + toff + o2 + r * pc.nvec * L;
                for (int64_t jh = 0; jh < pc.NH; ++jh) {
                  T* drow =
                      slice + (mh.dst_step * jh + mh.dst_off) * D2 + mw.dst_off;
                  const T* trow = trc + jh * pc.tpitch;
                  for (int64_t jw = 0; jw < pc.NW; ++jw)
                    drow[jw * mw.dst_step] = trow[jw] + b;
                }
                o2 += rblocks * MR * pc.nvec * L;
              }
            }
            toff += ldts;
            cl = ce;
          }
          if (big_output) {
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
