// The two engines of the conv3d kernels (see conv3d_engine.hpp). Both work
// on tiles of destination positions with small per-thread buffers whose size
// depends on channels and kernel size, never on N or the volume:
//   run_gather: pack panel B[(c, tap)][pos] (values the taps read), multiply
//     by the packed weight with a SIMD micro-kernel into a tile C[m][pos],
//     then unpack C into the destination.
//   run_wgrad: pack the same panel for a block of weight entries and a tile
//     of output positions, and accumulate dy[co][pos] * B[entry][pos] in
//     SIMD lanes over all (n, pos); sum the lanes at the end.
// Determinism: each destination element is one chain of multiply-adds in an
// order fixed by the geometry (k for run_gather; for run_wgrad, each lane
// over (n, pos) in order, then the lanes in order);
// tile sizes and the split of rows between tasks, which do depend on the
// thread count, never change that chain.

#include "core/kernels/conv3d_engine.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/error.hpp"
#include "core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

constexpr int64_t kPanelBytes = 192 * 1024;  // gather panel: about half of L2
constexpr int64_t kKc = 256;                 // k rows per micro-kernel call
constexpr int64_t kWgradCols = 64;           // weight entries per wgrad task
constexpr int64_t kWgradPositions = 512;     // positions per wgrad panel

int64_t ceil_div(int64_t a, int64_t b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

// 64-byte aligned, uninitialised scratch memory.
template <class T>
class Buffer {
 public:
  explicit Buffer(int64_t n) {
    const auto bytes = static_cast<size_t>(round_up(
        std::max<int64_t>(n, 1) * static_cast<int64_t>(sizeof(T)), 64));
    p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p_)
      throw std::bad_alloc();
  }
  ~Buffer() {
    std::free(p_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* get() const {
    return p_;
  }

 private:
  T* p_ = nullptr;
};

// A run of consecutive positions along the last axis: grid row (jd, jh),
// positions jw .. jw+len-1, stored from tile column `col` on.
struct Segment {
  int64_t jd, jh, jw, len, col;
};

// Splits tile [p0, p1) of the flattened (n_pos[0], n_pos[1], n_pos[2]) grid
// into runs along the last axis.
void tile_segments(
    const AxisMap ax[3], int64_t p0, int64_t p1, std::vector<Segment>& segs) {
  segs.clear();
  const int64_t nh = ax[1].n_pos, nw = ax[2].n_pos;
  for (int64_t p = p0; p < p1;) {
    const int64_t jw = p % nw, row = p / nw;
    const int64_t len = std::min(nw - jw, p1 - p);
    segs.push_back({row / nh, row % nh, jw, len, p - p0});
    p += len;
  }
}

// Writes, for each tile position, the value tap (td, th, tw) reads from one
// source channel (zero where it falls into the padding) to out[col * cs].
template <class T>
void gather_tap(
    const AxisMap ax[3],
    int64_t td,
    int64_t th,
    int64_t tw,
    const T* src_c,
    const Int3& src_dims,
    const std::vector<Segment>& segs,
    T* out,
    int64_t cs) {
  const AxisMap &md = ax[0], &mh = ax[1], &mw = ax[2];
  for (const Segment& s : segs) {
    T* o = out + s.col * cs;
    const int64_t j0 = s.jw, j1 = s.jw + s.len;
    const bool row_ok = s.jd >= md.lo[td] && s.jd < md.hi[td] &&
                        s.jh >= mh.lo[th] && s.jh < mh.hi[th];
    const int64_t v0 = row_ok ? std::clamp(mw.lo[tw], j0, j1) : j1;
    const int64_t v1 = row_ok ? std::clamp(mw.hi[tw], v0, j1) : j1;
    for (int64_t j = j0; j < v0; ++j)
      o[(j - j0) * cs] = T(0);
    if (v0 < v1) {
      const int64_t sd = s.jd * md.src_step + md.off[td];
      const int64_t sh = s.jh * mh.src_step + mh.off[th];
      // Index arithmetic stays in integers: off may be negative.
      const T* row = src_c + (sd * src_dims[1] + sh) * src_dims[2];
      const int64_t step = mw.src_step, base = mw.off[tw];
      if (cs == 1 && step == 1) {
        std::memcpy(
            o + (v0 - j0),
            row + (v0 + base),
            static_cast<size_t>(v1 - v0) * sizeof(T));
      } else {
        for (int64_t j = v0; j < v1; ++j)
          o[(j - j0) * cs] = row[j * step + base];
      }
    }
    for (int64_t j = v1; j < j1; ++j)
      o[(j - j0) * cs] = T(0);
  }
}

// Per-class plan of run_gather.
struct ClassPlan {
  int64_t taps = 0, K = 0, positions = 0;
  int64_t T = 0;  // tile width in positions (multiple of nw)
  int64_t tiles = 0;
  int64_t first_tile = 0;  // index of its first tile among all classes
  int64_t apack_off = 0;   // offset of its packed weights
};

}  // namespace

void AxisMap::add_tap(int64_t t, int64_t offset) {
  tap.push_back(t);
  off.push_back(offset);
  // j with src_step*j + offset in [0, src_len).
  const int64_t l = std::clamp(ceil_div(-offset, src_step), int64_t{0}, n_pos);
  lo.push_back(l);
  hi.push_back(std::clamp(ceil_div(src_len - offset, src_step), l, n_pos));
}

template <class T>
void run_gather(
    const GatherProblem& pb,
    const T* src,
    const T* w,
    T* dst,
    const MicroKernels<T>& mk) {
  if (pb.N == 0 || pb.classes.empty())
    return;
  const int64_t nw = mk.nw, G = pb.G, M = pb.M, C_src = pb.C_src;
  const int64_t mblocks = ceil_div(M, kMaxMR);
  const int64_t kvol = pb.kernel[0] * pb.kernel[1] * pb.kernel[2];
  const int64_t src_sp = pb.src_dims[0] * pb.src_dims[1] * pb.src_dims[2];
  const int64_t dst_sp = pb.dst_dims[0] * pb.dst_dims[1] * pb.dst_dims[2];
  const int64_t want_tasks = 2 * num_threads();

  std::vector<ClassPlan> plans(pb.classes.size());
  int64_t apack_size = 0, max_K = 0;
  for (size_t c = 0; c < plans.size(); ++c) {
    const AxisMap* ax = pb.classes[c].ax;
    ClassPlan& pl = plans[c];
    pl.taps = ax[0].taps() * ax[1].taps() * ax[2].taps();
    pl.K = C_src * pl.taps;
    pl.positions = ax[0].n_pos * ax[1].n_pos * ax[2].n_pos;
    const int64_t budget = kPanelBytes / static_cast<int64_t>(sizeof(T)) /
                           std::max<int64_t>(pl.K, 1);
    pl.T = std::clamp(budget / nw * nw, nw, round_up(pl.positions, nw));
    pl.apack_off = apack_size;
    apack_size += G * mblocks * pl.K * kMaxMR;
    max_K = std::max(max_K, pl.K);
  }
  // Enough tasks for every thread: smaller tiles first, then split rows.
  int64_t n_tiles = 0;
  for (;;) {
    n_tiles = 0;
    bool shrinkable = false;
    for (ClassPlan& pl : plans) {
      pl.tiles = ceil_div(pl.positions, pl.T);
      pl.first_tile = n_tiles;
      n_tiles += pl.tiles;
      shrinkable = shrinkable || pl.T > nw;
    }
    if (pb.N * G * n_tiles >= want_tasks || !shrinkable)
      break;
    for (ClassPlan& pl : plans)
      pl.T = std::max(nw, round_up(pl.T / 2, nw));
  }
  int64_t max_T = 0;
  for (const ClassPlan& pl : plans)
    max_T = std::max(max_T, pl.T);
  const int64_t mb_per = ceil_div(
      mblocks,
      std::clamp(
          ceil_div(want_tasks, pb.N * G * n_tiles), int64_t{1}, mblocks));
  const int64_t mchunks = ceil_div(mblocks, mb_per);

  // Packed weights: for each (class, group, block of kMaxMR rows), the
  // matrix W[k][r] with k = (c, class tap), rows past M zero.
  Buffer<T> apack(apack_size);
  const int64_t Cog = pb.w_rows_are_dst ? M : C_src;
  const int64_t Cig = pb.w_rows_are_dst ? C_src : M;
  const auto n_cg = static_cast<int64_t>(plans.size()) * G;
  parallel_for(0, n_cg, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const auto c = static_cast<size_t>(i / G);
      const int64_t grp = i % G;
      const AxisMap* ax = pb.classes[c].ax;
      const ClassPlan& pl = plans[c];
      const int64_t nth = ax[1].taps(), ntw = ax[2].taps();
      for (int64_t mb = 0; mb < mblocks; ++mb) {
        T* a =
            apack.get() + pl.apack_off + (grp * mblocks + mb) * pl.K * kMaxMR;
        for (int64_t k = 0; k < pl.K; ++k) {
          const int64_t cs = k / pl.taps, tf = k % pl.taps;
          const int64_t tap = (ax[0].tap[tf / (nth * ntw)] * pb.kernel[1] +
                               ax[1].tap[(tf / ntw) % nth]) *
                                  pb.kernel[2] +
                              ax[2].tap[tf % ntw];
          for (int64_t r = 0; r < kMaxMR; ++r) {
            const int64_t m = mb * kMaxMR + r;
            const int64_t co = pb.w_rows_are_dst ? m : cs;
            const int64_t ci = pb.w_rows_are_dst ? cs : m;
            a[k * kMaxMR + r] =
                m < M ? w[((grp * Cog + co) * Cig + ci) * kvol + tap] : T(0);
          }
        }
      }
    }
  });

  const int64_t n_tasks = pb.N * G * n_tiles * mchunks;
  parallel_for(0, n_tasks, 1, [&](int64_t b, int64_t e) {
    Buffer<T> panel(max_K * max_T);
    Buffer<T> tile(mblocks * kMaxMR * max_T);
    std::vector<Segment> segs;
    int64_t packed = -1;  // the (n, grp, tile) whose panel is in `panel`
    for (int64_t task = b; task < e; ++task) {
      const int64_t mc = task % mchunks, key = task / mchunks;
      const int64_t t_all = key % n_tiles, ng = key / n_tiles;
      const int64_t grp = ng % G, n = ng / G;
      size_t c = 0;
      while (c + 1 < plans.size() && plans[c + 1].first_tile <= t_all)
        ++c;
      const ClassPlan& pl = plans[c];
      const AxisMap* ax = pb.classes[c].ax;
      const int64_t Tp = pl.T, p0 = (t_all - pl.first_tile) * Tp;
      const int64_t p1 = std::min(pl.positions, p0 + Tp);
      tile_segments(ax, p0, p1, segs);
      if (packed != key) {
        const int64_t nth = ax[1].taps(), ntw = ax[2].taps();
        for (int64_t k = 0; k < pl.K; ++k) {
          const int64_t cs = k / pl.taps, tf = k % pl.taps;
          const T* src_c = src + ((n * G + grp) * C_src + cs) * src_sp;
          T* row = panel.get() + k * Tp;
          gather_tap(
              ax,
              tf / (nth * ntw),
              (tf / ntw) % nth,
              tf % ntw,
              src_c,
              pb.src_dims,
              segs,
              row,
              1);
          std::fill(row + (p1 - p0), row + Tp, T(0));
        }
        packed = key;
      }
      const int64_t mb1 = std::min(mblocks, (mc + 1) * mb_per);
      for (int64_t mb = mc * mb_per; mb < mb1; ++mb) {
        const int64_t mr = std::min<int64_t>(kMaxMR, M - mb * kMaxMR);
        const T* a =
            apack.get() + pl.apack_off + (grp * mblocks + mb) * pl.K * kMaxMR;
        T* cb = tile.get() + mb * kMaxMR * Tp;
        if (pl.K == 0)
          std::fill(cb, cb + mr * Tp, T(0));
        for (int64_t k0 = 0; k0 < pl.K; k0 += kKc) {
          const int64_t kc = std::min(kKc, pl.K - k0);
          for (int64_t pc = 0; pc < Tp; pc += nw)
            mk.gemm[mr](
                kc,
                a + k0 * kMaxMR,
                panel.get() + k0 * Tp + pc,
                Tp,
                cb + pc,
                Tp,
                k0 > 0);
        }
        // Unpack rows mb*kMaxMR .. +mr to their destination positions.
        const AxisMap &md = ax[0], &mh = ax[1], &mw = ax[2];
        for (int64_t r = 0; r < mr; ++r) {
          const T* cr = cb + r * Tp;
          T* dst_c =
              dst + ((n * G + grp) * M + mb * kMaxMR + r) * dst_sp + mw.dst_off;
          for (const Segment& s : segs) {
            T* drow =
                dst_c + ((s.jd * md.dst_step + md.dst_off) * pb.dst_dims[1] +
                         s.jh * mh.dst_step + mh.dst_off) *
                            pb.dst_dims[2];
            if (mw.dst_step == 1) {
              std::memcpy(
                  drow + s.jw,
                  cr + s.col,
                  static_cast<size_t>(s.len) * sizeof(T));
            } else {
              for (int64_t j = 0; j < s.len; ++j)
                drow[(s.jw + j) * mw.dst_step] = cr[s.col + j];
            }
          }
        }
      }
    }
  });
}

template <class T>
void run_wgrad(
    const WgradProblem& pb,
    const T* x,
    const T* dy,
    T* dw,
    const MicroKernels<T>& mk) {
  const ConvGeometry3d& g = pb.g;
  const AxisMap* ax = pb.ax;
  const int64_t vl = mk.vl, G = g.groups, Cig = g.C_in_g(), Cog = g.C_out_g();
  const int64_t kvol = g.kernel_numel(), K = Cig * kvol;
  const int64_t in_sp = g.in_numel(), out_sp = g.out_numel();
  const int64_t KB = round_up(std::min(K, kWgradCols), kWgradNC);
  const int64_t kblocks = ceil_div(K, KB);
  const int64_t mblocks = ceil_div(Cog, kWgradMR);
  const int64_t mb_per = ceil_div(
      mblocks,
      std::clamp(
          ceil_div(2 * num_threads(), G * kblocks), int64_t{1}, mblocks));
  const int64_t mchunks = ceil_div(mblocks, mb_per);
  const int64_t co_per = mb_per * kWgradMR;
  const int64_t nth = ax[1].taps(), ntw = ax[2].taps();
  const int64_t TP = kWgradPositions;

  parallel_for(0, G * kblocks * mchunks, 1, [&](int64_t b, int64_t e) {
    Buffer<T> panel(KB * TP);         // [weight entry][position]
    Buffer<T> dyp(co_per * TP);       // [co][position]
    Buffer<T> acc(co_per * KB * vl);  // [co][weight entry][lane]
    std::vector<Segment> segs;
    for (int64_t task = b; task < e; ++task) {
      const int64_t mc = task % mchunks, kb = (task / mchunks) % kblocks;
      const int64_t grp = task / (mchunks * kblocks);
      const int64_t mb0 = mc * mb_per, mb1 = std::min(mblocks, mb0 + mb_per);
      const int64_t co0 = mb0 * kWgradMR, co1 = std::min(Cog, mb1 * kWgradMR);
      const int64_t kk0 = kb * KB, kbw = std::min(KB, K - kk0);
      // Panel rows past kbw stay zero: computed, never stored.
      std::fill(panel.get(), panel.get() + KB * TP, T(0));
      std::fill(acc.get(), acc.get() + co_per * KB * vl, T(0));
      for (int64_t n = 0; n < g.N; ++n) {
        // Fixed tiles of TP positions, zero-padded to whole vectors: the
        // lane each position feeds depends on the geometry only.
        for (int64_t p0 = 0; p0 < out_sp; p0 += TP) {
          const int64_t p1 = std::min(out_sp, p0 + TP);
          const int64_t np = p1 - p0, npad = round_up(np, vl);
          tile_segments(ax, p0, p1, segs);
          for (int64_t j = 0; j < kbw; ++j) {
            const int64_t ci = (kk0 + j) / kvol, tf = (kk0 + j) % kvol;
            T* row = panel.get() + j * TP;
            gather_tap(
                ax,
                tf / (nth * ntw),
                (tf / ntw) % nth,
                tf % ntw,
                x + ((n * G + grp) * Cig + ci) * in_sp,
                g.in,
                segs,
                row,
                1);
            std::fill(row + np, row + npad, T(0));
          }
          for (int64_t co = co0; co < co1; ++co) {
            const T* src = dy + ((n * G + grp) * Cog + co) * out_sp + p0;
            T* row = dyp.get() + (co - co0) * TP;
            std::copy(src, src + np, row);
            std::fill(row + np, row + npad, T(0));
          }
          for (int64_t co = co0; co < co1; co += kWgradMR) {
            const int64_t mr = std::min<int64_t>(kWgradMR, co1 - co);
            T* a = acc.get() + (co - co0) * KB * vl;
            for (int64_t q = 0; q < KB; q += kWgradNC)
              mk.wgrad[mr](
                  npad,
                  dyp.get() + (co - co0) * TP,
                  TP,
                  panel.get() + q * TP,
                  TP,
                  a + q * vl,
                  KB * vl);
          }
        }
      }
      for (int64_t co = co0; co < co1; ++co)
        for (int64_t j = 0; j < kbw; ++j) {
          const T* lanes = acc.get() + ((co - co0) * KB + j) * vl;
          T sum = lanes[0];
          for (int64_t l = 1; l < vl; ++l)
            sum += lanes[l];
          dw[(grp * Cog + co) * K + kk0 + j] = sum;
        }
    }
  });
}

template void run_gather<float>(
    const GatherProblem&,
    const float*,
    const float*,
    float*,
    const MicroKernels<float>&);
template void run_gather<double>(
    const GatherProblem&,
    const double*,
    const double*,
    double*,
    const MicroKernels<double>&);
template void run_wgrad<float>(
    const WgradProblem&,
    const float*,
    const float*,
    float*,
    const MicroKernels<float>&);
template void run_wgrad<double>(
    const WgradProblem&,
    const double*,
    const double*,
    double*,
    const MicroKernels<double>&);

}  // namespace voxgrad::kernels::detail
