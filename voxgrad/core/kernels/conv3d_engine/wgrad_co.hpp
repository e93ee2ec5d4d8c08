#pragma once
// The weight gradient vectorised over output channels (AVX-512 float,
// C_out/g >= 32) and what the positions-vectorised wgrad shares with it.
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/gather.hpp"

namespace voxgrad::kernels::detail {
namespace {

// ---- wgrad ------------------------------------------------------------------

constexpr int64_t kAccBudget = 32768;  // accumulator values per task
constexpr int64_t kMaxBatch = 16;      // planes per wgrad kernel call

struct WgradTask {
  int64_t grp, c0, cc, m0, m1, r;
};

// The bytes of the op (x, dy and dw) and into how many parts R <= 16 (of
// the `red` the geometry allows) the (n, plane) reduction is split: as many
// as keep the R partial results under 1 % of those bytes.
template <class T>
double wgrad_op_bytes(const WgradArgs<T>& g, int64_t dw_numel) {
  const int64_t in_sp = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_sp = g.out[0] * g.out[1] * g.out[2];
  return static_cast<double>(
             g.N * g.G * (g.Cig * in_sp + g.Cog * out_sp) + dw_numel) *
         static_cast<double>(sizeof(T));
}
template <class T>
int64_t wgrad_parts(double op_bytes, int64_t dw_numel, int64_t red) {
  const double dw_bytes =
      static_cast<double>(dw_numel) * static_cast<double>(sizeof(T));
  return iclamp(
      static_cast<int64_t>(0.01 * op_bytes / dw_bytes), 1, imin(16, red));
}

// Every (group, channel chunk of cc, row chunk of mc, part r < R), in that
// order; `tasks` holds G * cdiv(C, cc) * cdiv(M, mc) * R entries.
inline void fill_wgrad_tasks(
    WgradTask* tasks,
    int64_t G,
    int64_t C,
    int64_t cc,
    int64_t M,
    int64_t mc,
    int64_t R) {
  int64_t i = 0;
  for (int64_t grp = 0; grp < G; ++grp)
    for (int64_t c0 = 0; c0 < C; c0 += cc)
      for (int64_t m0 = 0; m0 < M; m0 += mc)
        for (int64_t r = 0; r < R; ++r)
          tasks[i++] = {grp, c0, imin(cc, C - c0), m0, imin(M, m0 + mc), r};
}

// Packed plane j (destination depth jd) of a window of cc channels and nsl
// slices: the slices its depth taps would read outside the source were not
// packed, so zero them.
template <class T>
void zero_unpacked_slices(
    const GroupPlan& gp,
    const ClassPlan& p,
    int64_t jd,
    int64_t j,
    int64_t cc,
    int64_t nsl,
    T* buf) {
  int64_t id_lo = 0, id_hi = 0;
  depth_taps(p.cv->ax[0], jd, id_lo, id_hi);
  for (int64_t id = 0; id < p.nt[0]; ++id) {
    if (id >= id_lo && id < id_hi)
      continue;
    const int64_t sl = gp.sd * j + p.cv->ax[0].off[id] - gp.dmin;
    for (int64_t c = 0; c < cc; ++c)
      std::memset(
          buf + (c * nsl + sl) * gp.cs, 0,
          static_cast<size_t>(gp.cs) * sizeof(T));
  }
}

// One task's bias gradient: bout[i] = the L lanes of row i summed in order.
template <class T>
void sum_bias_lanes(T* bout, const T* bacc, int64_t rows, int64_t L) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* lanes = bacc + r * L;
    T s = lanes[0];
    for (int64_t l = 1; l < L; ++l)
      s += lanes[l];
    bout[r] = s;
  }
}

// dst[i] = the R partial results src[r*n + i] added in order of r.
template <class T>
void sum_partials(T* dst, const T* src, int64_t R, int64_t n) {
  parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T s = src[i];
      for (int64_t r = 1; r < R; ++r)
        s += src[r * n + i];
      dst[i] = s;
    }
  });
}

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
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
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

/// The weight gradient vectorised over output channels (AVX-512 float,
/// C_out/g >= 32): for r < NE entries, v < NCV vectors of channels, lanes l
///   acc[r*ld_acc + v*L + l] += sum over planes j < np and positions q < nq
///     of bp[j][boff[r] + qoff[q]] * dyt[j][q*ldq + v*L + l],
/// with dyt the plane's dy transposed to [position][channel]. Each output is
/// one chain over (plane, position) in order: no lanes to sum.
template <class T, class A, int NE, int NCV>
void wgrad_co_kernel(
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
  constexpr int64_t L = static_cast<int64_t>(B::size);
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

constexpr int kCoNE = 8, kCoNCV = 4;  // NCV == 4 uses NE <= 6
constexpr int64_t kCoBudget = 16384;  // accumulators, and transposed dy
template <class T>
using WgradCoFn = void (*)(
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
struct WgradCoTable {
  WgradCoFn<T> fn[kCoNE + 1][kCoNCV + 1] = {};
};
template <class T, class A, int NE, int... NCVs>
constexpr void fill_co_row(
    WgradCoTable<T, A>& t, std::integer_sequence<int, NCVs...>) {
  ((t.fn[NE][NCVs + 1] = &wgrad_co_kernel<T, A, NE, NCVs + 1>), ...);
}
template <class T, class A, int... NEs>
constexpr WgradCoTable<T, A> make_co_table(std::integer_sequence<int, NEs...>) {
  WgradCoTable<T, A> t;
  (fill_co_row<T, A, NEs + 1>(t, std::make_integer_sequence<int, kCoNCV>{}),
   ...);
  return t;
}

// Whether wgrad_co serves this call (see wgrad_co_kernel).
template <class T, class A>
bool use_wgrad_co(const WgradArgs<T>& g) {
  return sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float> &&
         g.Cog >= 32;
}

template <class T, class A>
void wgrad_co(const WgradArgs<T>& g) {
  using Tn = Tune<T, A>;
  constexpr int64_t L = Tn::L;
  static constexpr WgradCoTable<T, A> kt =
      make_co_table<T, A>(std::make_integer_sequence<int, kCoNE>{});
  const int64_t G = g.G, M = g.Cog, C = g.Cig;
  const int64_t kvol = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t Kw = C * kvol;
  const int64_t dw_numel = G * M * Kw;
  const int64_t in_sp = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_sp = g.out[0] * g.out[1] * g.out[2];
  Scratch<int64_t> pool_mem(plan_pool_size(&g.conv, 0, 1, L) + 16);
  Pool pool{pool_mem.get()};
  ClassPlan p;
  GroupPlan gp;
  plan_group(&g.conv, 0, 1, true, L, pool, &p, gp);
  const int64_t P = p.P, ND = p.ND, NW = p.NW;
  // Offset of each position (row-major) in a packed slice.
  Scratch<int32_t> qoff(imax(P, 1));
  for (int64_t jh = 0, q = 0; jh < p.NH; ++jh)
    for (int64_t jw = 0; jw < NW; ++jw, ++q)
      qoff[q] = static_cast<int32_t>(jh * (gp.halo ? gp.RP : gp.NWs) + jw);

  // Rows (mc, padded to vectors) and channels (cc) per task, as in wgrad:
  // the accumulators (cc*kvol entries x mc channels) within kCoBudget, the
  // cheapest traffic among those (a dy value is transposed, a few times
  // the cost of a load).
  const int64_t red = g.N * ND;
  int64_t mc = L, cc = 1;
  {
    const double expansion = static_cast<double>(ND * gp.sd * gp.cs) /
                             static_cast<double>(imax(in_sp, 1));
    const double pack_cost = expansion * (gp.halo ? 2.0 : 4.0);
    double best = -1;
    bool best_enough = false;
    for (int64_t c = 1; c <= C; ++c) {
      if (c > 1 && c * gp.per_c > kPackBudget * 4)
        break;
      // Balanced row chunks (no small remainder block of channels).
      const int64_t mmax = kCoBudget / (c * kvol) / L * L;
      if (mmax < L)
        break;
      int64_t m = rup(M, L);
      for (int64_t k = 2; m > mmax; ++k)
        m = rup(cdiv(M, k), L);
      // Cycle estimate per sample: the multiply-adds at the efficiency
      // of the channel blocks m gives (4 or 3 vectors: full, 2: 0.7, 1:
      // 0.4), dy transposed once per channel chunk, x packed once per row
      // chunk.
      const int64_t nvc = m / L, nb = cdiv(nvc, kCoNCV), ncv = cdiv(nvc, nb);
      const double eff = ncv >= 3 ? 1.0 : (ncv == 2 ? 0.7 : 0.4);
      const double fma = static_cast<double>(rup(M, m)) /
                         static_cast<double>(L) *
                         static_cast<double>(C * kvol * out_sp) / 2.0 / eff;
      const double traffic = fma +
                             0.25 * static_cast<double>(cdiv(C, c)) *
                                 static_cast<double>(M * out_sp) +
                             0.25 * static_cast<double>(cdiv(M, m)) *
                                 static_cast<double>(C * in_sp) * pack_cost;
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
  const int64_t mcp = rup(mc, L);
  const int64_t m_chunks = cdiv(M, mc), c_chunks = cdiv(C, cc);
  const double op_bytes = wgrad_op_bytes(g, dw_numel);
  const int64_t R = wgrad_parts<T>(op_bytes, dw_numel, red);
  const int64_t n_tasks = G * c_chunks * m_chunks * R;
  Scratch<WgradTask> tasks(n_tasks);
  fill_wgrad_tasks(tasks.get(), G, C, cc, M, mc, R);
  Scratch<T> partial(R > 1 ? R * dw_numel : 1);
  Scratch<T> bias_partial(R > 1 && g.dbias ? R * G * M : 1);
  const int64_t kmax = cc * kvol;
  // Planes per batch (they share one window, of at most 0.5 % of the op's
  // values); dy is transposed a plane at a time.
  const int64_t win_budget =
      imax(8192, static_cast<int64_t>(0.005 * op_bytes / sizeof(T)));
  int64_t db = kMaxBatch, buf_vals = 0;
  for (;; db /= 2) {
    buf_vals = cc * (gp.sd * (db - 1) + gp.dspan) * gp.cs;
    if (db == 1 || buf_vals <= win_budget)
      break;
  }

  parallel_for(0, n_tasks, 1, [&](int64_t tb, int64_t te) {
    Scratch<T> acc(kmax * mcp);
    Scratch<T> bacc(mcp * L);
    Scratch<T> bbuf(buf_vals + 4 * L);
    Scratch<T> dyt(imax(P, 1) * mcp);
    Scratch<int32_t> boff(kmax);
    const T* bp[kMaxBatch];
    std::memset(bbuf.get() + buf_vals, 0, 4 * L * sizeof(T));
    for (int64_t ti = tb; ti < te; ++ti) {
      const WgradTask& t = tasks[ti];
      const int64_t rows = t.m1 - t.m0, ke = t.cc * kvol;
      const bool do_bias = g.dbias != nullptr && t.c0 == 0;
      std::memset(acc.get(), 0, static_cast<size_t>(ke * mcp) * sizeof(T));
      std::memset(bacc.get(), 0, static_cast<size_t>(rows * L) * sizeof(T));
      const int64_t r0 = red * t.r / R, r1 = red * (t.r + 1) / R;
      for (int64_t rb = r0; rb < r1;) {
        const int64_t n = rb / ND, jd0 = rb % ND;
        const int64_t np = imin(imin(db, r1 - rb), ND - jd0);
        const T* x_n = g.x + (n * G + t.grp) * C * in_sp;
        const int64_t nsl = gp.sd * (np - 1) + gp.dspan;
        pack_window<T, A>(
            gp, x_n, g.in, t.c0, t.cc, gp.sd * jd0 + gp.dmin, nsl, bbuf.get());
        wgrad_offsets(gp, p, t.cc, nsl, boff.get());
        for (int64_t j = 0; j < np; ++j) {
          const int64_t jd = jd0 + j;
          zero_unpacked_slices(gp, p, jd, j, t.cc, nsl, bbuf.get());
          bp[j] = bbuf.get() + gp.sd * j * gp.cs;
          // dy of this plane, transposed to [position][channel] in blocks
          // of 16 x 16; channels past `rows` are zero.
          const T* dy0 = g.dy + ((n * G + t.grp) * M + t.m0) * out_sp + jd * P;
          T* dt = dyt.get();
          for (int64_t c0 = 0; c0 < mcp; c0 += 16)
            for (int64_t q0 = 0; q0 < P; q0 += 16) {
              const int64_t c1 = imin(c0 + 16, mcp), q1 = imin(q0 + 16, P);
              if (c0 + 16 <= rows && q1 == q0 + 16 &&
                  transpose16<T, A>(
                      dy0 + c0 * out_sp + q0, out_sp, dt + q0 * mcp + c0, mcp))
                continue;
              for (int64_t co = c0; co < c1; ++co) {
                const T* src = dy0 + co * out_sp;
                for (int64_t q = q0; q < q1; ++q)
                  dt[q * mcp + co] = co < rows ? src[q] : T(0);
              }
            }
          if (do_bias)
            for (int64_t r = 0; r < rows; ++r) {
              const T* d = dy0 + r * out_sp;
              T* ba = bacc.get() + r * L;
              for (int64_t q = 0; q < P; q += L)
                for (int64_t l = 0; l < L && q + l < P; ++l)
                  ba[l] += d[q + l];
            }
          // Blocks of up to 4 channel vectors (balanced), 6 or 8 entries.
          const int64_t nvc = mcp / L;
          for (int64_t v0 = 0; v0 < nvc;) {
            const int64_t nb = cdiv(nvc - v0, kCoNCV);
            const int64_t ncv = cdiv(nvc - v0, nb);
            const int64_t nem = ncv == 4 ? 6 : kCoNE;
            const T* dv = dt + v0 * L;
            for (int64_t e0 = 0; e0 < ke; e0 += nem) {
              const int64_t ne = imin(nem, ke - e0);
              kt.fn[ne][ncv](
                  1, &dv, mcp, bp + j, P, qoff.get(), boff.get() + e0,
                  acc.get() + e0 * mcp + v0 * L, mcp);
            }
            v0 += ncv;
          }
        }
        rb += np;
      }
      T* out = R == 1 ? g.dw : partial.get() + t.r * dw_numel;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t e = 0; e < ke; ++e)
          out[((t.grp * M + t.m0 + r) * C + t.c0) * kvol + e] =
              acc[e * mcp + r];
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
