#pragma once
// The weight-gradient engine (conv3d_bwd_weight), vectorised over positions.
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/wgrad_co.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class T, class A>
void wgrad(const WgradArgs<T>& g) {
  using Tn = Tune<T, A>;
  constexpr int64_t L = Tn::L;
  constexpr int64_t WMR = Tn::kWMR, WNC = Tn::kWNC;
  const KernelTable<T, A>& kt = kernel_table<T, A>();
  const int64_t G = g.G, M = g.Cog, C = g.Cig;
  const int64_t kvol = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t Kw = C * kvol;
  const int64_t dw_numel = G * M * Kw;
  if (g.N == 0) {
    std::memset(g.dw, 0, static_cast<size_t>(dw_numel) * sizeof(T));
    if (g.dbias)
      std::memset(g.dbias, 0, static_cast<size_t>(G * M) * sizeof(T));
    return;
  }
  if (use_wgrad_co<T, A>(g)) {
    wgrad_co<T, A>(g);
    return;
  }
  const int64_t in_sp = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_sp = g.out[0] * g.out[1] * g.out[2];
  Scratch<int64_t> pool_mem(plan_pool_size(&g.conv, 0, 1, L) + 16);
  Pool pool{pool_mem.get()};
  ClassPlan p;
  GroupPlan gp;
  plan_group(&g.conv, 0, 1, true, L, pool, &p, gp);
  const int64_t P = p.P, ND = p.ND;
  // Whole columns (halo: every one; expanded: all but a partial last one).
  const int64_t nfull = gp.halo ? p.nvec : P / L, rem = P - nfull * L;
  Scratch<int32_t> colw(imax(nfull, 1));
  for (int64_t v = 0; v < nfull; ++v)
    colw[v] = static_cast<int32_t>(p.colb[v]);

  // Rows (mc) and channels (cc) per task: the accumulators, mc*cc*kvol*L
  // values, stay within kAccBudget, and among those shapes the cheapest is
  // taken: every task reads dy for its rows and packs x for its channels,
  // so the cost is about
  //   ceil(C/cc) * (dy of M rows) + ceil(M/mc) * (x of C channels) * pack,
  // pack = packed values per x value times their relative cost (packing a
  // value costs a few times reading one; narrow rows cost twice as much).
  // mc and cc depend on the geometry only: cc sets the planes per batch
  // (db), and a batch adds the partial last vectors of its planes after
  // their whole columns, so db (like the split R of the (n, plane)
  // reduction) fixes the order of each lane's sum.
  const int64_t red = g.N * ND;
  int64_t mc = WMR, cc = 1;
  {
    const double expansion = static_cast<double>(ND * gp.sd * gp.cs) /
                             static_cast<double>(imax(in_sp, 1));
    const double pack_cost = expansion * (gp.halo ? 2.0 : 4.0);
    double best = -1;
    bool best_enough = false;
    for (int64_t c = 1; c <= C; ++c) {
      if (c > 1 && c * gp.per_c > kPackBudget * 4)
        break;
      const int64_t m =
          imin(rup(M, WMR), kAccBudget / (c * kvol * L) / WMR * WMR);
      if (m < WMR)
        break;
      const double traffic =
          static_cast<double>(cdiv(C, c)) * static_cast<double>(M * out_sp) +
          static_cast<double>(cdiv(M, m)) * static_cast<double>(C * in_sp) *
              pack_cost;
      const bool enough = G * cdiv(C, c) * cdiv(M, m) >= kMinTasks;
      if (best < 0 || (enough && !best_enough) ||
          (enough == best_enough && traffic < best)) {
        best = traffic;
        best_enough = enough;
        mc = m;
        cc = c;
      }
    }
  }
  const int64_t m_chunks = cdiv(M, mc), c_chunks = cdiv(C, cc);
  const int64_t R = wgrad_parts<T>(wgrad_op_bytes(g, dw_numel), dw_numel, red);
  const int64_t n_tasks = G * c_chunks * m_chunks * R;
  Scratch<WgradTask> tasks(n_tasks);
  fill_wgrad_tasks(tasks.get(), G, C, cc, M, mc, R);
  // Partial results of the R reduction parts (R == 1 writes dw directly).
  Scratch<T> partial(R > 1 ? R * dw_numel : 1);
  Scratch<T> bias_partial(R > 1 && g.dbias ? R * G * M : 1);
  const int64_t kc_pad = rup(cc * kvol, WNC);
  const int64_t ld_acc = kc_pad * L;
  // Planes per kernel call; the packed buffer holds them all (halo: one
  // window of slices, expanded: one block per plane).
  int64_t db = iclamp(cdiv(1024, imax(P, 1)), 1, kMaxBatch);
  int64_t buf_vals = 0;
  for (;; db /= 2) {
    buf_vals = cc * (gp.sd * (db - 1) + gp.dspan) * gp.cs;
    if (db == 1 || buf_vals <= 2 * kWinBudget)
      break;
  }

  parallel_for(0, n_tasks, 1, [&](int64_t tb, int64_t te) {
    Scratch<T> acc(rup(mc, WMR) * ld_acc);
    Scratch<T> bacc(rup(mc, WMR) * L);
    Scratch<T> bbuf(buf_vals + 4 * L);
    Scratch<int32_t> boff(kc_pad);
    Scratch<T> dtail(WMR * L), btail(WNC * L);
    int32_t tcol[1] = {0};
    int32_t toff[WNC];
    for (int64_t q = 0; q < WNC; ++q)
      toff[q] = static_cast<int32_t>(q * L);
    const T* dyp[kMaxBatch];
    const T* bp[kMaxBatch];
    const T* dyr[kMaxBatch];
    std::memset(bbuf.get() + buf_vals, 0, 4 * L * sizeof(T));
    for (int64_t ti = tb; ti < te; ++ti) {
      const WgradTask& t = tasks[ti];
      const int64_t rows = t.m1 - t.m0, ke = t.cc * kvol;
      const bool do_bias = g.dbias != nullptr && t.c0 == 0;
      std::memset(
          acc.get(), 0,
          static_cast<size_t>(rup(rows, WMR) * ld_acc) * sizeof(T));
      std::memset(bacc.get(), 0, static_cast<size_t>(rows * L) * sizeof(T));
      const int64_t r0 = red * t.r / R, r1 = red * (t.r + 1) / R;
      for (int64_t rb = r0; rb < r1;) {
        // A batch: consecutive planes of one sample.
        const int64_t n = rb / ND, jd0 = rb % ND;
        const int64_t np = imin(imin(db, r1 - rb), ND - jd0);
        const T* x_n = g.x + (n * G + t.grp) * C * in_sp;
        const int64_t nsl = gp.sd * (np - 1) + gp.dspan;
        pack_window<T, A>(
            gp, x_n, g.in, t.c0, t.cc, gp.sd * jd0 + gp.dmin, nsl, bbuf.get());
        // Entries e = (c, td, th, tw) in weight order; padding entries
        // (past ke) read offset 0 and are never stored.
        wgrad_offsets(gp, p, t.cc, nsl, boff.get());
        for (int64_t e = ke; e < kc_pad; ++e)
          boff[e] = 0;
        for (int64_t j = 0; j < np; ++j) {
          const int64_t jd = jd0 + j;
          zero_unpacked_slices(gp, p, jd, j, t.cc, nsl, bbuf.get());
          bp[j] = bbuf.get() + gp.sd * j * gp.cs;
          dyp[j] = g.dy + ((n * G + t.grp) * M + t.m0) * out_sp + jd * P;
        }
        // Row blocks outside, entry blocks inside: a row block's dy stays
        // in L1 while it meets every entry.
        for (int64_t m = 0; m < rows; m += WMR) {
          const int64_t mr = imin(WMR, rows - m);
          for (int64_t j = 0; j < np; ++j) {
            dyr[j] = dyp[j] + m * out_sp;
            // The next row block's dy, while this one computes.
            for (int64_t r = WMR; r < 2 * WMR && m + r < rows; ++r)
              prefetch_ahead(dyr[j] + r * out_sp - kAhead / sizeof(T), P);
          }
          for (int64_t q0 = 0; q0 < ke; q0 += WNC) {
            const int64_t nc = imin(WNC, ke - q0);
            T* a = acc.get() + m * ld_acc + q0 * L;
            if (nfull > 0)
              kt.wgrad[mr][nc](
                  np, dyr, bp, nfull, colw.get(), out_sp, boff.get() + q0, a,
                  ld_acc);
            if (rem > 0) {
              // The partial last vector of each plane, zero-padded.
              for (int64_t j = 0; j < np; ++j) {
                for (int64_t r = 0; r < mr; ++r)
                  for (int64_t l = 0; l < L; ++l)
                    dtail[r * L + l] =
                        l < rem ? dyr[j][r * out_sp + nfull * L + l] : T(0);
                for (int64_t q = 0; q < nc; ++q)
                  for (int64_t l = 0; l < L; ++l)
                    btail[q * L + l] =
                        l < rem ? bp[j][boff[q0 + q] + nfull * L + l] : T(0);
                const T* dt = dtail.get();
                const T* bt = btail.get();
                kt.wgrad[mr][nc](1, &dt, &bt, 1, tcol, L, toff, a, ld_acc);
              }
            }
          }
        }
        if (do_bias) {
          for (int64_t j = 0; j < np; ++j)
            for (int64_t r = 0; r < rows; ++r) {
              const T* d = dyp[j] + r * out_sp;
              T* ba = bacc.get() + r * L;
              for (int64_t q = 0; q < P; q += L)
                for (int64_t l = 0; l < L && q + l < P; ++l)
                  ba[l] += d[q + l];
            }
        }
        rb += np;
      }
      // Sum the lanes in order.
      T* out = R == 1 ? g.dw : partial.get() + t.r * dw_numel;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t e = 0; e < ke; ++e) {
          const T* lanes = acc.get() + r * ld_acc + e * L;
          T s = lanes[0];
          for (int64_t l = 1; l < L; ++l)
            s += lanes[l];
          out[((t.grp * M + t.m0 + r) * C + t.c0) * kvol + e] = s;
        }
      if (do_bias)
        sum_bias_lanes(
            (R == 1 ? g.dbias : bias_partial.get() + t.r * G * M) + t.grp * M +
                t.m0,
            bacc.get(), rows, L);
    }
  });
  if (R > 1) {
    sum_partials(g.dw, partial.get(), R, dw_numel);
    if (g.dbias)
      sum_partials(g.dbias, bias_partial.get(), R, G * M);
  }
}

}  // namespace
}  // namespace voxgrad::kernels::detail
