#pragma once
// Executor WgradLanes (Path::WgradLanes): conv3d_bwd_weight vectorised over
// positions, for any instruction set and channel count.
// Internal linkage: compiled once per instruction set.
//
//   x   (N, G*Cig, in_d, in_h, in_w)      the conv input
//   dy  (N, G*Cog, out_d, out_h, out_w)   the gradient of the conv output
//   dw  (G*Cog, Cig, kd, kh, kw)          overwritten
//   acc [row r][entry e][L]   per task: the L lane sums of each weight,
//                             entries e = (input channel, td, th, tw)
//   partial [R][dw]           the R parts of a split reduction (R > 1)
//
// A task (conv group, input channels [c0, c0 + cc), output channels
// [m0, m1), part r of the (sample, plane) reduction) packs x for a batch of
// planes of one sample at a time (pack.hpp), zeroing the slices a depth tap
// would read outside x, then for register blocks of WMR rows x WNC entries:
//   acc[r][e][l] += dy[r][column v, lane l] * window[boff[e] + col[v] + l]
// over the batch's planes, then the partial last vector of each plane
// (zero-padded). Each lane is one chain over (batch, plane, column) in
// order; the lanes are summed in order at the end, and a split reduction's
// parts are added in order of r (wgrad_common.hpp). The planes per batch
// (db) and R come from the plan: they fix the order of every sum.

#include <utility>

#include "voxgrad/core/kernels/conv3d_engine/blocking.hpp"
#include "voxgrad/core/kernels/conv3d_engine/wgrad_common.hpp"

namespace voxgrad::kernels::detail {
namespace {

/// For r < MR, q < NC and lanes l: acc[r*ld_acc + q*L + l] +=
///   sum over planes j < np and columns v < n_col of
///   dy[j][r*ld_dy + v*L + l] * b[j][boff[q] + col[v] + l].
template <class T, class A, int MR, int NC>
void lanes_kernel(
    int64_t np,
    const T* const* dyp,
    const T* const* bp,
    int64_t n_col,
    const int32_t* __restrict col,
    int64_t ld_dy,
    const int32_t* __restrict boff,
    T* __restrict acc,
    int64_t ld_acc) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = kLanes<T, A>;
  B c[MR][NC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < NC; ++q)
      c[r][q] = B::load_unaligned(acc + r * ld_acc + q * L);
  for (int64_t j = 0; j < np; ++j) {
    const T* d0 = dyp[j];
    const T* bq[NC];
#pragma GCC unroll 16
    for (int q = 0; q < NC; ++q)
      bq[q] = bp[j] + boff[q];
    for (int64_t v = 0; v < n_col; ++v) {
      const int64_t o = col[v];
      B bv[NC];
#pragma GCC unroll 16
      for (int q = 0; q < NC; ++q)
        bv[q] = B::load_unaligned(bq[q] + o);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const B d = B::load_unaligned(d0 + r * ld_dy + v * L);
#pragma GCC unroll 16
        for (int q = 0; q < NC; ++q)
          c[r][q] = madd(d, bv[q], c[r][q]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < NC; ++q)
      c[r][q].store_unaligned(acc + r * ld_acc + q * L);
}

template <class T>
using LanesFn = void (*)(
    int64_t,
    const T* const*,
    const T* const*,
    int64_t,
    const int32_t*,
    int64_t,
    const int32_t*,
    T*,
    int64_t);

/// lanes_kernel for every block [MR][NC] up to the limits.
template <class T, class A>
struct LanesTable {
  static constexpr Blocking kB =
      blocking_for(static_cast<int64_t>(sizeof(xsimd::batch<T, A>)));
  LanesFn<T> fn[kB.wmr + 1][kB.wnc + 1] = {};
};
template <class T, class A, int MR, int... NCs>
constexpr void fill_lanes_row(
    LanesTable<T, A>& t, std::integer_sequence<int, NCs...>) {
  ((t.fn[MR][NCs + 1] = &lanes_kernel<T, A, MR, NCs + 1>), ...);
}
template <class T, class A, int... MRs>
constexpr LanesTable<T, A> make_lanes_table(
    std::integer_sequence<int, MRs...>) {
  LanesTable<T, A> t;
  (fill_lanes_row<T, A, MRs + 1>(
       t, std::make_integer_sequence<
              int, static_cast<int>(LanesTable<T, A>::kB.wnc)>{}),
   ...);
  return t;
}
template <class T, class A>
const LanesTable<T, A>& lanes_table() {
  static constexpr LanesTable<T, A> kTable = make_lanes_table<T, A>(
      std::make_integer_sequence<
          int, static_cast<int>(LanesTable<T, A>::kB.wmr)>{});
  return kTable;
}

template <class T, class A>
void wgrad_lanes(const ConvPlan& plan, const T* x, const T* dy, T* dw) {
  const WgradPlan& wp = plan.wgrad;
  constexpr int64_t L = kLanes<T, A>;
  constexpr Blocking kB = LanesTable<T, A>::kB;
  VOXGRAD_ASSERT(
      plan.lanes == L && wp.WMR <= kB.wmr && wp.WNC <= kB.wnc &&
      wp.batch <= kMaxBatch);
  const LanesTable<T, A>& kt = lanes_table<T, A>();
  const WindowPlan& win = wp.window;
  const PhasePlan& p = wp.phase;
  const int64_t G = plan.G, M = wp.Cog, C = wp.Cig;
  const int64_t WMR = wp.WMR, WNC = wp.WNC, R = wp.parts;
  const int64_t kvol = wp.kernel[0] * wp.kernel[1] * wp.kernel[2];
  const int64_t dw_numel = G * M * C * kvol;
  const int64_t in_sp = wp.in[0] * wp.in[1] * wp.in[2];
  const int64_t out_sp = wp.out[0] * wp.out[1] * wp.out[2];
  const int64_t P = p.n_pos, ND = p.n_d, red = plan.N * ND;
  const int64_t ld_acc = wp.acc_entries * L;
  const int64_t nfull = wp.n_full, rem = wp.rem;
  Scratch<T> partial(R > 1 ? R * dw_numel : 1);

  parallel_for(0, wp.n_tasks, 1, [&](int64_t tb, int64_t te) {
    Scratch<T> acc(round_up(wp.rows, WMR) * ld_acc);
    Scratch<T> bbuf(wp.window_vals + 4 * L);
    Scratch<int32_t> boff(wp.acc_entries);
    Scratch<T> dtail(WMR * L), btail(WNC * L);
    const int32_t tcol[1] = {0};
    int32_t toff[kB.wnc];
    for (int64_t q = 0; q < WNC; ++q)
      toff[q] = static_cast<int32_t>(q * L);
    const T* dyp[kMaxBatch];
    const T* bp[kMaxBatch];
    const T* dyr[kMaxBatch];
    std::memset(
        bbuf.get() + wp.window_vals, 0, static_cast<size_t>(4 * L) * sizeof(T));
    for (int64_t ti = tb; ti < te; ++ti) {
      const WgradTask& t = wp.tasks[ti];
      const int64_t rows = t.m1 - t.m0, ke = t.cc * kvol;
      std::memset(
          acc.get(), 0,
          static_cast<size_t>(round_up(rows, WMR) * ld_acc) * sizeof(T));
      int64_t r0 = 0, r1 = 0;
      part_range(red, t.r, R, r0, r1);
      for (int64_t rb = r0; rb < r1;) {
        // A batch: consecutive planes of one sample.
        const int64_t n = rb / ND, jd0 = rb % ND;
        const int64_t np = imin(imin(wp.batch, r1 - rb), ND - jd0);
        const T* x_n = x + (n * G + t.grp) * C * in_sp;
        const int64_t nsl = win.sd * (np - 1) + win.d_span;
        pack_window<T, A>(
            win, x_n, wp.in, t.c0, t.cc, win.sd * jd0 + win.d_off0, nsl,
            bbuf.get());
        // Entries past ke pad the last register block: they read offset 0
        // and are never stored.
        wgrad_offsets(win, p, t.cc, nsl, boff.get());
        for (int64_t e = ke; e < wp.acc_entries; ++e)
          boff[e] = 0;
        for (int64_t j = 0; j < np; ++j) {
          const int64_t jd = jd0 + j;
          zero_unpacked_slices(win, p, jd, j, t.cc, nsl, bbuf.get());
          bp[j] = bbuf.get() + win.sd * j * win.slice_vals;
          dyp[j] = dy + ((n * G + t.grp) * M + t.m0) * out_sp + jd * P;
        }
        // Row blocks outside, entry blocks inside: a row block's dy stays
        // in L1 while it meets every entry.
        for (int64_t m = 0; m < rows; m += WMR) {
          const int64_t mr = imin(WMR, rows - m);
          for (int64_t j = 0; j < np; ++j) {
            dyr[j] = dyp[j] + m * out_sp;
            // The next row block's dy, while this one computes.
            for (int64_t r = WMR; r < 2 * WMR && m + r < rows; ++r)
              prefetch_ahead(
                  dyr[j] + r * out_sp -
                      kAhead / static_cast<int64_t>(sizeof(T)),
                  P);
          }
          for (int64_t q0 = 0; q0 < ke; q0 += WNC) {
            const int64_t nc = imin(WNC, ke - q0);
            T* a = acc.get() + m * ld_acc + q0 * L;
            if (nfull > 0)
              kt.fn[mr][nc](
                  np, dyr, bp, nfull, wp.col, out_sp, boff.get() + q0, a,
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
                kt.fn[mr][nc](1, &dt, &bt, 1, tcol, L, toff, a, ld_acc);
              }
            }
          }
        }
        rb += np;
      }
      // Sum the lanes in order.
      T* out = R == 1 ? dw : partial.get() + t.r * dw_numel;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t e = 0; e < ke; ++e) {
          const T* lanes = acc.get() + r * ld_acc + e * L;
          T s = lanes[0];
          for (int64_t l = 1; l < L; ++l)
            s += lanes[l];
          out[((t.grp * M + t.m0 + r) * C + t.c0) * kvol + e] = s;
        }
    }
  });
  if (R > 1)
    sum_partials(dw, partial.get(), R, dw_numel);
}

}  // namespace
}  // namespace voxgrad::kernels::detail
