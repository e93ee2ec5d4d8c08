#pragma once
// Executor WgradChannels (Path::WgradChannels): conv3d_bwd_weight vectorised
// over output channels, chosen for AVX-512 float with C_out/G >= 32.
// Internal linkage: compiled once per instruction set.
//
//   x   (N, G*Cig, in_d, in_h, in_w)      the conv input
//   dy  (N, G*Cog, out_d, out_h, out_w)   the gradient of the conv output
//   dw  (G*Cog, Cig, kd, kh, kw)          overwritten
//   dyt [position q][channel, rows_pad]   per task and plane: dy of the
//                                         task's channels, transposed (16 x
//                                         16 register transposes), channels
//                                         past the task's rows zero
//   acc [entry e][channel]                per task: e = (input channel, td,
//                                         th, tw), channels padded to L
//   partial [R][dw]                       the R parts of a split reduction
//
// A task (conv group, input channels [c0, c0 + cc), output channels
// [m0, m1), part r of the (sample, plane) reduction) packs x for a batch of
// planes of one sample (pack.hpp), then per plane transposes dy and, in
// register blocks of up to 8 entries x 4 channel vectors, adds
//   acc[e][co] += window[boff[e] + pos_off[q]] * dyt[q][co]
// over the plane's positions q in order: one chain per weight over
// (sample, plane, position), no lanes to sum. A split reduction's parts are
// added in order of r (wgrad_common.hpp).

#include <utility>

#include "voxgrad/core/kernels/conv3d_engine/blocking.hpp"
#include "voxgrad/core/kernels/conv3d_engine/wgrad_common.hpp"

namespace voxgrad::kernels::detail {
namespace {

// dst[k*ld_dst + i] = src[i*ld_src + k] for i, k < 16, with AVX-512
// shuffles; returns false (doing nothing) where that is not available.
// (GCC 12's unpack intrinsics start from an "undefined" register that
// -Wmaybe-uninitialized flags; the pragmas scope the exemption.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
template <class T, class A>
inline bool transpose16(const T* src, int64_t ld_src, T* dst, int64_t ld_dst) {
#if defined(__AVX512F__)
  if constexpr (kAvx512Float<T, A>) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i)
      r[i] = _mm512_loadu_ps(src + i * ld_src);
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    auto lo = [](__m512 a, __m512 b) {
      return _mm512_castpd_ps(
          _mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    auto hi = [](__m512 a, __m512 b) {
      return _mm512_castpd_ps(
          _mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    for (int i = 0; i < 4; ++i) {
      r[4 * i] = lo(t[4 * i], t[4 * i + 2]);
      r[4 * i + 1] = hi(t[4 * i], t[4 * i + 2]);
      r[4 * i + 2] = lo(t[4 * i + 1], t[4 * i + 3]);
      r[4 * i + 3] = hi(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 4; ++i) {
      t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
      t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
      t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
      t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
    }
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
      r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
      r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
      r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
    }
    for (int k = 0; k < 16; ++k)
      _mm512_storeu_ps(dst + k * ld_dst, r[k]);
    return true;
  }
#endif
  (void)src;
  (void)ld_src;
  (void)dst;
  (void)ld_dst;
  return false;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// For r < NE entries, v < NCV vectors of channels, lanes l:
///   acc[r*ld_acc + v*L + l] += sum over planes j < np and positions q < nq
///     of bp[j][boff[r] + qoff[q]] * dyt[j][q*ldq + v*L + l].
template <class T, class A, int NE, int NCV>
void channels_kernel(
    int64_t np,
    const T* const* dyt,
    int64_t ldq,
    const T* const* bp,
    int64_t nq,
    const int32_t* __restrict qoff,
    const int32_t* __restrict boff,
    T* __restrict acc,
    int64_t ld_acc) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = kLanes<T, A>;
  B c[NE][NCV];
#pragma GCC unroll 16
  for (int r = 0; r < NE; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NCV; ++v)
      c[r][v] = B::load_unaligned(acc + r * ld_acc + v * L);
  for (int64_t j = 0; j < np; ++j) {
    const T* d = dyt[j];
    const T* be[NE];
#pragma GCC unroll 16
    for (int r = 0; r < NE; ++r)
      be[r] = bp[j] + boff[r];
    for (int64_t q = 0; q < nq; ++q) {
      const int64_t o = qoff[q];
      B dv[NCV];
#pragma GCC unroll 16
      for (int v = 0; v < NCV; ++v)
        dv[v] = B::load_unaligned(d + q * ldq + v * L);
#pragma GCC unroll 16
      for (int r = 0; r < NE; ++r) {
        const B bb(be[r][o]);
#pragma GCC unroll 16
        for (int v = 0; v < NCV; ++v)
          c[r][v] = madd(bb, dv[v], c[r][v]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < NE; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NCV; ++v)
      c[r][v].store_unaligned(acc + r * ld_acc + v * L);
}

template <class T>
using ChannelsFn = void (*)(
    int64_t,
    const T* const*,
    int64_t,
    const T* const*,
    int64_t,
    const int32_t*,
    const int32_t*,
    T*,
    int64_t);
template <class T, class A>
struct ChannelsTable {
  ChannelsFn<T> fn[kChanNE + 1][kChanNCV + 1] = {};
};
template <class T, class A, int NE, int... NCVs>
constexpr void fill_channels_row(
    ChannelsTable<T, A>& t, std::integer_sequence<int, NCVs...>) {
  ((t.fn[NE][NCVs + 1] = &channels_kernel<T, A, NE, NCVs + 1>), ...);
}
template <class T, class A, int... NEs>
constexpr ChannelsTable<T, A> make_channels_table(
    std::integer_sequence<int, NEs...>) {
  ChannelsTable<T, A> t;
  (fill_channels_row<T, A, NEs + 1>(
       t, std::make_integer_sequence<int, static_cast<int>(kChanNCV)>{}),
   ...);
  return t;
}

template <class T, class A>
void wgrad_channels(const ConvPlan& plan, const T* x, const T* dy, T* dw) {
  static constexpr ChannelsTable<T, A> kt = make_channels_table<T, A>(
      std::make_integer_sequence<int, static_cast<int>(kChanNE)>{});
  const WgradPlan& wp = plan.wgrad;
  constexpr int64_t L = kLanes<T, A>;
  VOXGRAD_ASSERT(plan.lanes == L && wp.batch <= kMaxBatch);
  const WindowPlan& win = wp.window;
  const PhasePlan& p = wp.phase;
  const int64_t G = plan.G, M = wp.Cog, C = wp.Cig, R = wp.parts;
  const int64_t kvol = wp.kernel[0] * wp.kernel[1] * wp.kernel[2];
  const int64_t dw_numel = G * M * C * kvol;
  const int64_t in_sp = wp.in[0] * wp.in[1] * wp.in[2];
  const int64_t out_sp = wp.out[0] * wp.out[1] * wp.out[2];
  const int64_t P = p.n_pos, ND = p.n_d, red = plan.N * ND;
  const int64_t mcp = round_up(wp.rows, L), kmax = wp.chunk * kvol;
  Scratch<T> partial(R > 1 ? R * dw_numel : 1);

  parallel_for(0, wp.n_tasks, 1, [&](int64_t tb, int64_t te) {
    Scratch<T> acc(kmax * mcp);
    Scratch<T> bbuf(wp.window_vals + 4 * L);
    Scratch<T> dyt(imax(P, 1) * mcp);
    Scratch<int32_t> boff(kmax);
    const T* bp[kMaxBatch];
    std::memset(
        bbuf.get() + wp.window_vals, 0, static_cast<size_t>(4 * L) * sizeof(T));
    for (int64_t ti = tb; ti < te; ++ti) {
      const WgradTask& t = wp.tasks[ti];
      const int64_t rows = t.m1 - t.m0, ke = t.cc * kvol;
      std::memset(acc.get(), 0, static_cast<size_t>(ke * mcp) * sizeof(T));
      int64_t r0 = 0, r1 = 0;
      part_range(red, t.r, R, r0, r1);
      for (int64_t rb = r0; rb < r1;) {
        const int64_t n = rb / ND, jd0 = rb % ND;
        const int64_t np = imin(imin(wp.batch, r1 - rb), ND - jd0);
        const T* x_n = x + (n * G + t.grp) * C * in_sp;
        const int64_t nsl = win.sd * (np - 1) + win.d_span;
        pack_window<T, A>(
            win, x_n, wp.in, t.c0, t.cc, win.sd * jd0 + win.d_off0, nsl,
            bbuf.get());
        wgrad_offsets(win, p, t.cc, nsl, boff.get());
        for (int64_t j = 0; j < np; ++j) {
          const int64_t jd = jd0 + j;
          zero_unpacked_slices(win, p, jd, j, t.cc, nsl, bbuf.get());
          bp[j] = bbuf.get() + win.sd * j * win.slice_vals;
          // dy of this plane, transposed to [position][channel] in blocks
          // of 16 x 16; channels past `rows` are zero.
          const T* dy0 = dy + ((n * G + t.grp) * M + t.m0) * out_sp + jd * P;
          T* dt = dyt.get();
          for (int64_t c0 = 0; c0 < mcp; c0 += 16)
            for (int64_t q0 = 0; q0 < P; q0 += 16) {
              const int64_t c1 = imin(c0 + 16, mcp), q1 = imin(q0 + 16, P);
              if (c0 + 16 <= rows && q1 == q0 + 16 &&
                  transpose16<T, A>(
                      dy0 + c0 * out_sp + q0, out_sp, dt + q0 * mcp + c0, mcp))
                continue;
              for (int64_t co = c0; co < c1; ++co) {
                const T* from = dy0 + co * out_sp;
                for (int64_t q = q0; q < q1; ++q)
                  dt[q * mcp + co] = co < rows ? from[q] : T(0);
              }
            }
          // Blocks of up to 4 channel vectors (balanced), 6 or 8 entries.
          const int64_t nvc = mcp / L;
          for (int64_t v0 = 0; v0 < nvc;) {
            const int64_t nb = ceil_div(nvc - v0, kChanNCV);
            const int64_t ncv = ceil_div(nvc - v0, nb);
            const int64_t nem = ncv == 4 ? 6 : kChanNE;
            const T* dv = dt + v0 * L;
            for (int64_t e0 = 0; e0 < ke; e0 += nem) {
              const int64_t ne = imin(nem, ke - e0);
              kt.fn[ne][ncv](
                  1, &dv, mcp, bp + j, P, wp.pos_off, boff.get() + e0,
                  acc.get() + e0 * mcp + v0 * L, mcp);
            }
            v0 += ncv;
          }
        }
        rb += np;
      }
      T* out = R == 1 ? dw : partial.get() + t.r * dw_numel;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t e = 0; e < ke; ++e)
          out[((t.grp * M + t.m0 + r) * C + t.c0) * kvol + e] =
              acc[e * mcp + r];
    }
  });
  if (R > 1)
    sum_partials(dw, partial.get(), R, dw_numel);
}

}  // namespace
}  // namespace voxgrad::kernels::detail
