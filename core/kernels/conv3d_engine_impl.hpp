#pragma once
// The engines behind the three conv3d kernels, templated on an xsimd
// architecture and compiled once per instruction set: conv3d.cpp (baseline),
// conv3d_avx2.cpp and conv3d_avx512.cpp include this file, each with its own
// -m flags. Everything here has internal linkage and avoids standard-library
// templates that emit code, so the linker can never hand an AVX-512 copy of
// a helper to baseline code.
//
// NOTE [ Conv engine ]
// ~~~~~~~~~~~~~~~~~~~~
// Both engines work plane by plane: a plane is one destination depth index
// jd of one class (a class is the whole output of a conv, or one sub-pixel
// phase of a transposed conv): its (jh, jw) positions, vectorised in SIMD
// vectors of L positions ("columns").
//
// Packing. For a chunk of source channels the engine copies the source
// values the taps need into a small buffer, in one of two layouts:
//  - halo (rows of at least one vector): the source depth slices the task's
//    planes read, each padded with zeros and split into stride phases,
//      [channel][slice][height phase][hq][width phase][wq],
//    so that tap (td, th, tw) at position (jh, jw) reads the packed value at
//    a fixed offset from (jh, jw): off_h = s_h*q_h + phase, hq = jh + q_h,
//    likewise in width, slice = s_d*jd + off_d. Every source value is copied
//    once per task and chunk; a column is L consecutive jw of one row.
//  - expanded (rows shorter than a vector, e.g. 8 wide): per plane,
//      [channel][depth tap][height phase][width tap][hq][jw],
//    the width taps expanded (each row holds exactly what tap tw reads at
//    jw = 0 .. n_pos_w-1), so that a column of L consecutive flattened
//    positions may span rows.
// Either way each (channel, tap) pair k is an offset boff[k] into the
// buffer and each column v a base offset, and the value k contributes to
// column v is the vector at buf + col[v] + boff[k].
//
// gather (conv3d_fwd, conv3d_bwd_data): a register block of MR destination
// rows (channels) x NV columns accumulates sum_k A[k][r] * B(k, v), with A
// the weights of the chunk, packed per task as [row block][k][MR], in the
// order k = (depth tap, channel, height tap, width tap): the depth taps that
// fall outside the source for a plane are a contiguous range of k and are
// skipped. Convs (and stride-1 transposed convs) write straight into the
// output plane ("direct"); strided transposed convs compute all phases of
// some output depth slices into a tile and then interleave them into the
// slices, so every output line is written once, by one task.
//
// wgrad (conv3d_bwd_weight): the same packed buffers, vectorised over
// positions: acc[co][k][lane] += dy[co][q] * B(k, q), each lane summing its
// positions over (n, plane) in order; the lanes are summed in order at the
// end. The (n, plane) reduction may be split into R parts whose partial
// results are added in order; R depends on the geometry only.
//
// Determinism: every output element is one chain of operations whose order
// is fixed by the geometry and the instruction set (the channel chunk, the
// k order, the lanes, R); the thread count only changes which task computes
// which output, and tasks partition the output. Results are therefore
// bit-identical for any thread count.

#include <xsimd/xsimd.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/kernels/conv3d_internal.hpp"
#include "core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

inline int64_t imin(int64_t a, int64_t b) {
  return a < b ? a : b;
}
inline int64_t imax(int64_t a, int64_t b) {
  return a > b ? a : b;
}
inline int64_t iclamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}
inline int64_t cdiv(int64_t a, int64_t b) {  // a >= 0, b > 0
  return (a + b - 1) / b;
}
inline int64_t fdiv(int64_t a, int64_t b) {  // floor, b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
inline int64_t rup(int64_t a, int64_t b) {
  return cdiv(a, b) * b;
}

// Uninitialised, 64-byte-aligned scratch memory for n elements.
template <class E>
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(int64_t n)
      : bytes_(rup(imax(n, 1) * static_cast<int64_t>(sizeof(E)), 64)) {
    p_ = static_cast<E*>(std::aligned_alloc(64, static_cast<size_t>(bytes_)));
    if (!p_)
      throw std::bad_alloc();
    workspace_track(bytes_);
  }
  ~Scratch() {
    std::free(p_);
    workspace_track(-bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  E* get() const {
    return p_;
  }
  E& operator[](int64_t i) const {
    return p_[i];
  }

 private:
  int64_t bytes_ = 0;
  E* p_ = nullptr;
};

// Register-block limits of one instruction set (32 vector registers with
// AVX-512, 16 otherwise; SSE2 has no fused multiply-add and needs a
// temporary per product).
template <class T, class A>
struct Tune {
  using B = xsimd::batch<T, A>;
  static constexpr int64_t L = static_cast<int64_t>(B::size);
  static constexpr bool kWide = sizeof(B) >= 64;
  static constexpr bool kSse = sizeof(B) <= 16;
  static constexpr int kRegs = kWide ? 32 : 16;
  static constexpr int kMR = kWide ? 8 : (kSse ? 4 : 6);
  static constexpr int kNV = kWide ? 8 : 6;
  // Largest NV with MR*NV accumulators + NV loaded vectors + 1 broadcast
  // (+ 1 product temporary without FMA) in registers.
  static constexpr int nv_max(int mr) {
    const int spare = kRegs - 2 - (kSse ? 1 : 0);
    const int nv = spare / (mr + 1);
    return nv < 1 ? 1 : (nv > kNV ? kNV : nv);
  }
  static constexpr int kWMR = kWide ? 4 : (kSse ? 2 : 3);  // wgrad rows
  static constexpr int kWNC = kWide ? 6 : (kSse ? 4 : 3);  // wgrad entries
};

// Fused multiply-add; xsimd 8.1 falls back to x*y+z for avx512f, so use the
// instruction directly there.
template <class T, class A>
inline xsimd::batch<T, A> madd(
    const xsimd::batch<T, A>& a,
    const xsimd::batch<T, A>& b,
    const xsimd::batch<T, A>& c) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64) {
    if constexpr (std::is_same_v<T, float>)
      return _mm512_fmadd_ps(a, b, c);
    else
      return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

// A store that bypasses the caches (p aligned to the vector size).
template <class T, class A>
inline void store_stream(T* p, const xsimd::batch<T, A>& v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(v) == 64) {
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(p, v);
    else
      _mm512_stream_pd(p, v);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(v) == 32) {
    if constexpr (std::is_same_v<T, float>)
      _mm256_stream_ps(p, v);
    else
      _mm256_stream_pd(p, v);
    return;
  }
#endif
  v.store_aligned(p);
}

inline void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

enum : int { kAccum = 1, kBias = 2, kStream = 4 };

/// For r < MR, v < NV, lanes l:
///   ccol[v][r*ldc + l] (+)= sum_k a[k*MR + r] * bcol[v][boff[k] + l]
/// (+ bias[r]). Each element is one chain of multiply-adds over k in order.
template <class T, class A, int MR, int NV>
void gemm_kernel(
    int64_t K,
    const T* __restrict a,
    const T* const* bcol,
    const int32_t* __restrict boff,
    T* const* ccol,
    int64_t ldc,
    int flags,
    const T* __restrict bias) {
  using B = xsimd::batch<T, A>;
  const T* bc[NV];
  T* cc[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    bc[v] = bcol[v];
    cc[v] = ccol[v];
  }
  B acc[MR][NV];
  if (flags & kAccum) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = B::load_unaligned(cc[v] + r * ldc);
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = B(T(0));
  }
  for (int64_t k = 0; k < K; ++k) {
    const int64_t o = boff[k];
    B bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
      bv[v] = B::load_unaligned(bc[v] + o);
    const T* ak = a + k * MR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const B ar(ak[r]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = madd(ar, bv[v], acc[r][v]);
    }
  }
  if (flags & kBias) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const B br(bias[r]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v] = acc[r][v] + br;
    }
  }
  if (flags & kStream) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        store_stream<T, A>(cc[v] + r * ldc, acc[r][v]);
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v].store_unaligned(cc[v] + r * ldc);
  }
}

/// For r < MR, q < NC and lanes l: acc[r*ld_acc + q*L + l] +=
///   sum over planes j < np and columns v < nvec of
///   dy[j][r*ld_dy + v*L + l] * b[j][boff[q] + col[v] + l].
template <class T, class A, int MR, int NC>
void wgrad_kernel(
    int64_t np,
    const T* const* dyp,
    const T* const* bp,
    int64_t nvec,
    const int32_t* __restrict col,
    int64_t ld_dy,
    const int32_t* __restrict boff,
    T* __restrict acc,
    int64_t ld_acc) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
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
    for (int64_t v = 0; v < nvec; ++v) {
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
using GemmFn = void (*)(
    int64_t,
    const T*,
    const T* const*,
    const int32_t*,
    T* const*,
    int64_t,
    int,
    const T*);
template <class T>
using WgradFn = void (*)(
    int64_t,
    const T* const*,
    const T* const*,
    int64_t,
    const int32_t*,
    int64_t,
    const int32_t*,
    T*,
    int64_t);

// Tables of every register block, indexed [MR][NV] (entries that would not
// fit in registers are null and never chosen).
template <class T, class A>
struct KernelTable {
  using Tn = Tune<T, A>;
  GemmFn<T> gemm[Tn::kMR + 1][Tn::kNV + 1] = {};
  WgradFn<T> wgrad[Tn::kWMR + 1][Tn::kWNC + 1] = {};
};

template <class T, class A, int MR, int... NVs>
constexpr void fill_gemm_row(
    KernelTable<T, A>& t, std::integer_sequence<int, NVs...>) {
  ((t.gemm[MR][NVs + 1] = (NVs + 1 <= Tune<T, A>::nv_max(MR))
                              ? &gemm_kernel<T, A, MR, NVs + 1>
                              : nullptr),
   ...);
}
template <class T, class A, int MR, int... NCs>
constexpr void fill_wgrad_row(
    KernelTable<T, A>& t, std::integer_sequence<int, NCs...>) {
  ((t.wgrad[MR][NCs + 1] = &wgrad_kernel<T, A, MR, NCs + 1>), ...);
}
template <class T, class A, int... MRs, int... WMRs>
constexpr KernelTable<T, A> make_kernel_table(
    std::integer_sequence<int, MRs...>, std::integer_sequence<int, WMRs...>) {
  using Tn = Tune<T, A>;
  KernelTable<T, A> t;
  (fill_gemm_row<T, A, MRs + 1>(t, std::make_integer_sequence<int, Tn::kNV>{}),
   ...);
  (fill_wgrad_row<T, A, WMRs + 1>(
       t, std::make_integer_sequence<int, Tn::kWNC>{}),
   ...);
  return t;
}
template <class T, class A>
const KernelTable<T, A>& kernel_table() {
  using Tn = Tune<T, A>;
  static constexpr KernelTable<T, A> kTable = make_kernel_table<T, A>(
      std::make_integer_sequence<int, Tn::kMR>{},
      std::make_integer_sequence<int, Tn::kWMR>{});
  return kTable;
}

// ---- packing ----------------------------------------------------------------

// The packers stream their source (rows, slices, channels in order):
// prefetch the n values kAhead bytes past p.
constexpr int64_t kAhead = 8192;
template <class T>
inline void prefetch_ahead(const T* p, int64_t n) {
#if defined(__x86_64__)
  const char* b = reinterpret_cast<const char*>(p) + kAhead;
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  for (int64_t o = 0; o < bytes; o += 64)
    _mm_prefetch(b + o, _MM_HINT_T0);
#else
  (void)p;
  (void)n;
#endif
}

// Copies n contiguous values.
template <class T, class A>
inline void copy_run(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
  int64_t i = 0;
  for (; i + L <= n; i += L)
    B::load_unaligned(src + i).store_unaligned(dst + i);
  for (; i < n; ++i)
    dst[i] = src[i];
}

#if defined(__AVX512F__)
// Bits [a, b) of a 16-lane mask (clipped to the lanes).
inline __mmask16 lane_range(int64_t a, int64_t b) {
  a = iclamp(a, 0, 16);
  b = iclamp(b, a, 16);
  return static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
}

// gather_row for float with AVX-512: masked loads read nothing outside
// [lo, hi) (and cannot fault), so the padding costs no extra pass.
inline void gather_row_avx512(
    float* dst,
    const float* src,
    int64_t n,
    int64_t step,
    int64_t off,
    int64_t lo,
    int64_t hi) {
  const __m512i even = _mm512_setr_epi32(
      0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const int64_t a = lo - j0, b = hi - j0;
    __m512 v;
    if (step == 1) {
      v = _mm512_maskz_loadu_ps(lane_range(a, b), src + off + j0);
    } else {  // step 2: the even lanes of two vectors
      const float* s = src + off + 2 * j0;
      const __m512 v0 =
          _mm512_maskz_loadu_ps(lane_range(2 * a, 2 * b) & 0x5555, s);
      const __m512 v1 = _mm512_maskz_loadu_ps(
          lane_range(2 * a - 16, 2 * b - 16) & 0x5555, s + 16);
      v = _mm512_permutex2var_ps(v0, even, v1);
    }
    if (n - j0 >= 16)
      _mm512_storeu_ps(dst + j0, v);
    else
      _mm512_mask_storeu_ps(dst + j0, lane_range(0, n - j0), v);
  }
}
#endif

// dst[j] = src[step*j + off] for j in [lo, hi), zero elsewhere in [0, n).
template <class T, class A>
inline void gather_row(
    T* dst,
    const T* src,
    int64_t n,
    int64_t step,
    int64_t off,
    int64_t lo,
    int64_t hi) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    if (step <= 2) {
      gather_row_avx512(dst, src, n, step, off, lo, hi);
      return;
    }
  }
#endif
  for (int64_t j = 0; j < lo; ++j)
    dst[j] = T(0);
  if (step == 1) {
    copy_run<T, A>(dst + lo, src + lo + off, hi - lo);
  } else {
    for (int64_t j = lo; j < hi; ++j)
      dst[j] = src[step * j + off];
  }
  for (int64_t j = hi; j < n; ++j)
    dst[j] = T(0);
}

// Packs HQ rows of NW values, `pitch` apart: row hq holds gather_row of
// source row h0 + hstep*hq (zeros if that row is outside [0, S1)).
template <class T, class A>
void pack_region(
    T* reg,
    const T* splane,
    int64_t S1,
    int64_t S2,
    int64_t HQ,
    int64_t NW,
    int64_t pitch,
    int64_t h0,
    int64_t hstep,
    int64_t wstep,
    int64_t off,
    int64_t lo,
    int64_t hi) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    constexpr int64_t kMaxChunks = 8;
    const int64_t nch = cdiv(NW, 16);
    if (wstep <= 2 && nch <= kMaxChunks) {
      // The masks depend on the chunk only: hoist them out of the rows.
      __mmask16 m0[kMaxChunks], m1[kMaxChunks], mst[kMaxChunks];
      for (int64_t c = 0; c < nch; ++c) {
        const int64_t a = lo - 16 * c, b = hi - 16 * c;
        m0[c] =
            wstep == 1 ? lane_range(a, b) : lane_range(2 * a, 2 * b) & 0x5555;
        m1[c] = lane_range(2 * a - 16, 2 * b - 16) & 0x5555;
        mst[c] = lane_range(0, NW - 16 * c);
      }
      const __m512i even = _mm512_setr_epi32(
          0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512 zero = _mm512_setzero_ps();
      for (int64_t hq = 0; hq < HQ; ++hq) {
        const int64_t h = h0 + hstep * hq;
        float* row = reg + hq * pitch;
        const bool valid = h >= 0 && h < S1;
        const float* s = splane + (valid ? h : 0) * S2 + off;
        if (valid)
          prefetch_ahead(splane + h * S2, S2);
        for (int64_t c = 0; c < nch; ++c) {
          __m512 v = zero;
          if (valid) {
            if (wstep == 1) {
              v = _mm512_maskz_loadu_ps(m0[c], s + 16 * c);
            } else {
              const __m512 v0 = _mm512_maskz_loadu_ps(m0[c], s + 32 * c);
              const __m512 v1 = _mm512_maskz_loadu_ps(m1[c], s + 32 * c + 16);
              v = _mm512_permutex2var_ps(v0, even, v1);
            }
          }
          if (mst[c] == 0xFFFF)
            _mm512_storeu_ps(row + 16 * c, v);
          else
            _mm512_mask_storeu_ps(row + 16 * c, mst[c], v);
        }
      }
      return;
    }
  }
#endif
  for (int64_t hq = 0; hq < HQ; ++hq) {
    const int64_t h = h0 + hstep * hq;
    T* row = reg + hq * pitch;
    if (h < 0 || h >= S1) {
      std::memset(row, 0, static_cast<size_t>(NW) * sizeof(T));
    } else {
      prefetch_ahead(splane + h * S2, S2);
      gather_row<T, A>(row, splane + h * S2, NW, wstep, off, lo, hi);
    }
  }
}

// ---- plans ------------------------------------------------------------------

// ceil(a / b) for any sign of a, b > 0.
inline int64_t cdiv_any(int64_t a, int64_t b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// A bump allocator over one buffer, for the small per-call arrays.
struct Pool {
  int64_t* p = nullptr;
  int64_t used = 0;
  int64_t* take(int64_t n) {
    int64_t* r = p + used;
    used += n;
    return r;
  }
};

// One class's part of the packed layout (see NOTE [ Conv engine ]).
struct ClassPlan {
  const ClassView* cv = nullptr;
  int64_t nt[3]{};  // taps per axis
  int64_t ND = 0, NH = 0, NW = 0, P = 0, taps = 0;
  int64_t tpitch = 0;       // row pitch of positions in a tile / direct plane
  int64_t nvec = 0;         // columns per plane
  int64_t* colb = nullptr;  // [nvec] column offsets into the packed buffer
  int64_t* colc = nullptr;  // [nvec] column offsets into the destination
  // Offsets of each height / width tap within a channel's slice.
  int64_t* hoff = nullptr;
  int64_t* woff = nullptr;
};

// Classes sharing the depth map, and the packed source slices they share.
// One channel's slice is [n_rho][HQ][n_rw][LW] (halo) or [n_rho][NU][HQ][NWs]
// (shifted); row hq of height phase rho[i] holds source row
// sh*(hq + qh0) + rho[i]. Halo: column wq of width phase rw[j] holds source
// column sw*(wq + qw0) + rw[j]. Shifted: row u holds source columns
// sw*jw + uoff[u], jw < NWs (one row per distinct width offset).
struct GroupPlan {
  int64_t c0 = 0, c1 = 0;  // classes [c0, c1)
  bool direct = false, halo = false;
  int64_t sd = 1, sh = 1, sw = 1;  // source steps
  int64_t dmin = 0, dspan = 0;     // depth offsets: min, max - min + 1
  int64_t n_rho = 0, HQ = 0, qh0 = 0;
  int64_t n_rw = 0, LW = 0, RP = 0, qw0 = 0;  // halo
  int64_t NU = 0, NWs = 0;                    // shifted
  int64_t cs = 0;                             // values per channel and slice
  int64_t per_c = 0;     // packed values per channel for one plane
  int64_t tile_row = 0;  // tile values per destination row (tile mode)
  int64_t* rho = nullptr;
  int64_t* rw = nullptr;    // halo
  int64_t* uoff = nullptr;  // shifted
};

// Distinct values of v[i] mod s (floor), in order of appearance; returns
// how many, and writes each i's index into idx.
int64_t phases(
    const int64_t* off, int64_t n, int64_t s, int64_t* vals, int64_t* idx) {
  int64_t nv = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = off[i] - fdiv(off[i], s) * s;
    int64_t j = 0;
    while (j < nv && vals[j] != r)
      ++j;
    if (j == nv)
      vals[nv++] = r;
    idx[i] = j;
  }
  return nv;
}

// Pool entries plan_group needs for classes [c0, c1) of cv.
int64_t plan_pool_size(const ClassView* cv, int64_t c0, int64_t c1, int64_t L) {
  int64_t n = 0;
  for (int64_t c = c0; c < c1; ++c) {
    const AxisView* ax = cv[c].ax;
    const int64_t nvec =
        ax[1].n_pos * cdiv(ax[2].n_pos, L) + cdiv(ax[1].n_pos * ax[2].n_pos, L);
    n += 2 * nvec + 8 * ax[1].n_taps + 6 * ax[2].n_taps + 24;
  }
  return n;
}

// Plans classes [c0, c1) (sharing ax[0]) as one group. `direct`: the
// destination rows are contiguous planes of pitch n_pos_w (no tile).
void plan_group(
    const ClassView* cv,
    int64_t c0,
    int64_t c1,
    bool direct,
    int64_t L,
    Pool& pool,
    ClassPlan* plans,
    GroupPlan& gp) {
  gp.c0 = c0;
  gp.c1 = c1;
  gp.direct = direct;
  const AxisView& md = cv[c0].ax[0];
  gp.sd = md.src_step;
  gp.sh = cv[c0].ax[1].src_step;
  gp.sw = cv[c0].ax[2].src_step;
  const int64_t sh = gp.sh, sw = gp.sw;
  for (int64_t i = 0; i < md.n_taps; ++i)
    gp.dmin = i == 0 ? md.off[i] : imin(gp.dmin, md.off[i]);
  for (int64_t i = 0; i < md.n_taps; ++i)
    gp.dspan = imax(gp.dspan, md.off[i] - gp.dmin + 1);
  // Halo when every row holds whole vectors (or, in a tile, at least one);
  // shifted rows (width offsets expanded) let a vector span rows.
  gp.halo = true;
  for (int64_t c = c0; c < c1; ++c) {
    const int64_t nw = cv[c].ax[2].n_pos;
    gp.halo = gp.halo && (nw % L == 0 || (!direct && nw > L));
    gp.NWs = imax(gp.NWs, nw);
  }
  int64_t nh_all = 0, nw_all = 0;
  for (int64_t c = c0; c < c1; ++c) {
    ClassPlan& p = plans[c];
    p = ClassPlan{};
    p.cv = &cv[c];
    for (int a = 0; a < 3; ++a)
      p.nt[a] = cv[c].ax[a].n_taps;
    p.ND = cv[c].ax[0].n_pos;
    p.NH = cv[c].ax[1].n_pos;
    p.NW = cv[c].ax[2].n_pos;
    p.P = p.NH * p.NW;
    p.taps = p.nt[0] * p.nt[1] * p.nt[2];
    nh_all += p.nt[1];
    nw_all += p.nt[2];
  }
  // Union of the classes' height / width offsets, phases and row ranges.
  int64_t* hv = pool.take(nh_all + 1);
  int64_t* wv = pool.take(nw_all + 1);
  int64_t* hidx = pool.take(nh_all + 1);
  int64_t* widx = pool.take(nw_all + 1);
  int64_t qh1 = 0, qw1 = 0;
  bool any = false;
  for (int64_t c = c0, oh = 0, ow = 0; c < c1; ++c) {
    const AxisView &mh = cv[c].ax[1], &mw = cv[c].ax[2];
    for (int64_t i = 0; i < mh.n_taps; ++i)
      hv[oh + i] = mh.off[i];
    for (int64_t i = 0; i < mw.n_taps; ++i)
      wv[ow + i] = mw.off[i];
    oh += mh.n_taps;
    ow += mw.n_taps;
    for (int64_t i = 0; i < mh.n_taps; ++i)
      for (int64_t j = 0; j < mw.n_taps; ++j) {
        const int64_t a = fdiv(mh.off[i], sh), b = fdiv(mw.off[j], sw);
        gp.qh0 = any ? imin(gp.qh0, a) : a;
        qh1 = any ? imax(qh1, a + mh.n_pos - 1) : a + mh.n_pos - 1;
        gp.qw0 = any ? imin(gp.qw0, b) : b;
        qw1 = any ? imax(qw1, b + mw.n_pos - 1) : b + mw.n_pos - 1;
        any = true;
      }
  }
  gp.rho = pool.take(nh_all + 1);
  gp.n_rho = phases(hv, nh_all, sh, gp.rho, hidx);
  gp.HQ = any ? qh1 - gp.qh0 + 1 : 0;
  if (gp.halo) {
    gp.rw = pool.take(nw_all + 1);
    gp.n_rw = phases(wv, nw_all, sw, gp.rw, widx);
    gp.LW = any ? qw1 - gp.qw0 + 1 : 0;
    gp.RP = gp.n_rw * gp.LW;
    gp.cs = gp.n_rho * gp.HQ * gp.RP;
  } else {
    // Distinct width offsets: one shifted row each.
    gp.uoff = pool.take(nw_all + 1);
    for (int64_t i = 0; i < nw_all; ++i) {
      int64_t j = 0;
      while (j < gp.NU && gp.uoff[j] != wv[i])
        ++j;
      if (j == gp.NU)
        gp.uoff[gp.NU++] = wv[i];
      widx[i] = j;
    }
    gp.cs = gp.n_rho * gp.NU * gp.HQ * gp.NWs;
  }
  gp.per_c = imax(gp.dspan, 1) * gp.cs;
  for (int64_t c = c0, oh = 0, ow = 0; c < c1; ++c) {
    ClassPlan& p = plans[c];
    const AxisView &mh = cv[c].ax[1], &mw = cv[c].ax[2];
    p.hoff = pool.take(mh.n_taps + 1);
    p.woff = pool.take(mw.n_taps + 1);
    for (int64_t i = 0; i < mh.n_taps; ++i) {
      const int64_t q = fdiv(mh.off[i], sh) - gp.qh0;
      p.hoff[i] = gp.halo ? hidx[oh + i] * gp.HQ * gp.RP + q * gp.RP
                          : hidx[oh + i] * gp.NU * gp.HQ * gp.NWs + q * gp.NWs;
    }
    for (int64_t i = 0; i < mw.n_taps; ++i)
      p.woff[i] = gp.halo
                      ? widx[ow + i] * gp.LW + (fdiv(mw.off[i], sw) - gp.qw0)
                      : widx[ow + i] * gp.HQ * gp.NWs;
    oh += mh.n_taps;
    ow += mw.n_taps;
    if (gp.halo) {
      // A column is L consecutive jw of one row.
      const int64_t vr = cdiv(p.NW, L);
      p.tpitch = direct ? p.NW : vr * L;
      p.nvec = p.NH * vr;
      p.colb = pool.take(p.nvec + 1);
      p.colc = pool.take(p.nvec + 1);
      for (int64_t jh = 0, v = 0; jh < p.NH; ++jh)
        for (int64_t w0 = 0; w0 < p.NW; w0 += L, ++v) {
          p.colb[v] = jh * gp.RP + w0;
          p.colc[v] = jh * p.tpitch + w0;
        }
    } else {
      // A column is L consecutive positions of the plane, rows NWs apart.
      p.tpitch = gp.NWs;
      p.nvec = cdiv(p.NH * gp.NWs, L);
      p.colb = pool.take(p.nvec + 1);
      p.colc = pool.take(p.nvec + 1);
      for (int64_t v = 0; v < p.nvec; ++v)
        p.colb[v] = p.colc[v] = v * L;
    }
    gp.tile_row += p.nvec * L;
  }
}

// The depth taps [lo, hi) that read inside the source for plane jd.
void depth_taps(const AxisView& md, int64_t jd, int64_t& lo, int64_t& hi) {
  lo = 0;
  while (lo < md.n_taps && !(jd >= md.lo[lo] && jd < md.hi[lo]))
    ++lo;
  hi = lo;
  while (hi < md.n_taps && jd >= md.lo[hi] && jd < md.hi[hi])
    ++hi;
}

// Whether pack_slice_halo handles this layout: AVX-512 float, width
// stride 1 or 2 with all its phases used, rows of at most 8 vectors.
template <class T, class A>
bool halo_fast(const GroupPlan& gp) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>)
    return (gp.sw == 1 || (gp.sw == 2 && gp.n_rw == 2)) && gp.LW <= 128 &&
           gp.n_rho == gp.sh && gp.sh <= 8;
#endif
  (void)gp;
  return false;
}

// One source slice in the halo layout, reading the source rows in order,
// each once: every packed row (height phase, hq) comes from one source row,
// and with width stride 2 both width phases are split from it in one pass.
template <class T, class A>
void pack_slice_halo(
    const GroupPlan& gp, const T* splane, int64_t S1, int64_t S2, T* dst) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    const __m512i even = _mm512_setr_epi32(
        0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t sh = gp.sh, sw = gp.sw, LW = gp.LW;
    const int64_t nch = cdiv(LW, 16);
    // Source columns of chunk c start at sw*(qw0 + 16c) (+ phase); the
    // loads are masked to the columns inside [0, S2).
    __mmask16 m0[8], m1[8], mst[8];
    for (int64_t c = 0; c < nch; ++c) {
      const int64_t base = sw * (gp.qw0 + 16 * c);
      m0[c] = lane_range(-base, S2 - base);
      m1[c] = lane_range(-base - 16, S2 - base - 16);
      mst[c] = lane_range(0, LW - 16 * c);
    }
    // Where each width phase goes: phase value r -> subrow index.
    int64_t sub[2] = {0, 0};
    for (int64_t j = 0; j < gp.n_rw; ++j)
      sub[gp.rw[j]] = j;
    // Height phase value r -> its index in the layout.
    int64_t hidx[8] = {};
    for (int64_t i = 0; i < gp.n_rho && gp.rho[i] < 8; ++i)
      hidx[gp.rho[i]] = i;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t hq = 0; hq < gp.HQ; ++hq)
      for (int64_t r = 0; r < sh; ++r) {
        const int64_t h = sh * (hq + gp.qh0) + r;
        float* row = dst + (hidx[r] * gp.HQ + hq) * gp.RP;
        const bool valid = h >= 0 && h < S1;
        const float* srow = splane + (valid ? h : 0) * S2 + sw * gp.qw0;
        if (valid)
          prefetch_ahead(splane + h * S2, S2);
        for (int64_t c = 0; c < nch; ++c) {
          if (sw == 1) {
            const __m512 v =
                valid ? _mm512_maskz_loadu_ps(m0[c], srow + 16 * c) : zero;
            _mm512_mask_storeu_ps(row + 16 * c, mst[c], v);
          } else {
            __m512 e = zero, o = zero;
            if (valid) {
              const __m512 v0 = _mm512_maskz_loadu_ps(m0[c], srow + 32 * c);
              const __m512 v1 =
                  _mm512_maskz_loadu_ps(m1[c], srow + 32 * c + 16);
              e = _mm512_permutex2var_ps(v0, even, v1);
              o = _mm512_permutex2var_ps(v0, odd, v1);
            }
            _mm512_mask_storeu_ps(row + sub[0] * LW + 16 * c, mst[c], e);
            _mm512_mask_storeu_ps(row + sub[1] * LW + 16 * c, mst[c], o);
          }
        }
      }
    return;
  }
#endif
  (void)gp;
  (void)splane;
  (void)S1;
  (void)S2;
  (void)dst;
}

// Packs the window of a group: channels [c0, c0+cc) of one sample, source
// slices [s_lo, s_lo + nsl) (those inside the source), into
// buf[c][slice][...] (cc * nsl * gp.cs values; see GroupPlan).
template <class T, class A>
void pack_window(
    const GroupPlan& gp,
    const T* src_n,
    const int64_t* src_dims,
    int64_t c0,
    int64_t cc,
    int64_t s_lo,
    int64_t nsl,
    T* buf) {
  const int64_t S0 = src_dims[0], S1 = src_dims[1], S2 = src_dims[2];
  const int64_t src_sp = S0 * S1 * S2, sh = gp.sh, sw = gp.sw;
  for (int64_t c = 0; c < cc; ++c)
    for (int64_t sl = 0; sl < nsl; ++sl) {
      const int64_t s = s_lo + sl;
      if (s < 0 || s >= S0)
        continue;  // never read: those depth taps are skipped (or zeroed)
      const T* splane = src_n + (c0 + c) * src_sp + s * S1 * S2;
      T* dst = buf + (c * nsl + sl) * gp.cs;
      if (gp.halo && halo_fast<T, A>(gp)) {
        pack_slice_halo<T, A>(gp, splane, S1, S2, dst);
        continue;
      }
      for (int64_t i = 0; i < gp.n_rho; ++i) {
        const int64_t h0 = sh * gp.qh0 + gp.rho[i];
        if (gp.halo) {
          for (int64_t j = 0; j < gp.n_rw; ++j) {
            const int64_t off = sw * gp.qw0 + gp.rw[j];
            const int64_t lo = iclamp(cdiv_any(-off, sw), 0, gp.LW);
            const int64_t hi = iclamp(cdiv_any(S2 - off, sw), lo, gp.LW);
            pack_region<T, A>(
                dst + i * gp.HQ * gp.RP + j * gp.LW, splane, S1, S2, gp.HQ,
                gp.LW, gp.RP, h0, sh, sw, off, lo, hi);
          }
        } else {
          for (int64_t u = 0; u < gp.NU; ++u) {
            const int64_t off = gp.uoff[u];
            const int64_t lo = iclamp(cdiv_any(-off, sw), 0, gp.NWs);
            const int64_t hi = iclamp(cdiv_any(S2 - off, sw), lo, gp.NWs);
            pack_region<T, A>(
                dst + (i * gp.NU + u) * gp.HQ * gp.NWs, splane, S1, S2, gp.HQ,
                gp.NWs, gp.NWs, h0, sh, sw, off, lo, hi);
          }
        }
      }
    }
}

// Offsets of k = (depth tap, channel, height tap, width tap) into a packed
// window of cc channels and nsl slices: the gather reduction order.
void gather_offsets(
    const GroupPlan& gp,
    const ClassPlan& p,
    int64_t cc,
    int64_t nsl,
    int32_t* boff) {
  int64_t k = 0;
  const AxisView& md = p.cv->ax[0];
  for (int64_t id = 0; id < p.nt[0]; ++id)
    for (int64_t c = 0; c < cc; ++c)
      for (int64_t ih = 0; ih < p.nt[1]; ++ih)
        for (int64_t iw = 0; iw < p.nt[2]; ++iw)
          boff[k++] = static_cast<int32_t>(
              (c * nsl + md.off[id] - gp.dmin) * gp.cs + p.hoff[ih] +
              p.woff[iw]);
}

// The same offsets in weight order e = (channel, depth tap, height tap,
// width tap) (the weight gradient's columns).
void wgrad_offsets(
    const GroupPlan& gp,
    const ClassPlan& p,
    int64_t cc,
    int64_t nsl,
    int32_t* boff) {
  int64_t e = 0;
  const AxisView& md = p.cv->ax[0];
  for (int64_t c = 0; c < cc; ++c)
    for (int64_t id = 0; id < p.nt[0]; ++id)
      for (int64_t ih = 0; ih < p.nt[1]; ++ih)
        for (int64_t iw = 0; iw < p.nt[2]; ++iw)
          boff[e++] = static_cast<int32_t>(
              (c * nsl + md.off[id] - gp.dmin) * gp.cs + p.hoff[ih] +
              p.woff[iw]);
}

// out[2j] = e[j] + b, out[2j+1] = o[j] + b for 2j, 2j+1 < n. e and o may
// be read up to a vector past their ends.
template <class T, class A>
inline void zip_rows(T* out, const T* e, const T* o, int64_t n, T b) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>) {
    const __m512i lo = _mm512_setr_epi32(
        0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(
        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 bb = _mm512_set1_ps(b);
    for (int64_t j0 = 0; 2 * j0 < n; j0 += 16) {
      const __m512 ve = _mm512_loadu_ps(e + j0), vo = _mm512_loadu_ps(o + j0);
      const __m512 a = _mm512_add_ps(_mm512_permutex2var_ps(ve, lo, vo), bb);
      const __m512 c = _mm512_add_ps(_mm512_permutex2var_ps(ve, hi, vo), bb);
      const int64_t rem = n - 2 * j0;
      if (rem >= 32) {
        _mm512_storeu_ps(out + 2 * j0, a);
        _mm512_storeu_ps(out + 2 * j0 + 16, c);
      } else {
        _mm512_mask_storeu_ps(out + 2 * j0, lane_range(0, rem), a);
        if (rem > 16)
          _mm512_mask_storeu_ps(out + 2 * j0 + 16, lane_range(0, rem - 16), c);
      }
    }
    return;
  }
#endif
  for (int64_t j = 0; 2 * j < n; ++j) {
    out[2 * j] = e[j] + b;
    if (2 * j + 1 < n)
      out[2 * j + 1] = o[j] + b;
  }
}

// dst[i] = src[i] for i < n, with stores that bypass the caches.
template <class T, class A>
void stream_copy(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t L = static_cast<int64_t>(B::size);
  int64_t i = 0;
  while (i < n && reinterpret_cast<uintptr_t>(dst + i) % sizeof(B) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + L <= n; i += L)
    store_stream<T, A>(dst + i, B::load_unaligned(src + i));
  for (; i < n; ++i)
    dst[i] = src[i];
}

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
  const int64_t threads = num_threads();
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
  while (n_tasks < 4 * threads && dp_target > 1) {
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

// ---- wgrad ------------------------------------------------------------------

constexpr int64_t kAccBudget = 32768;  // accumulator values per task
constexpr int64_t kMaxBatch = 16;      // planes per wgrad kernel call

struct WgradTask {
  int64_t grp, c0, cc, m0, m1, r;
};

// dst[k*ld_dst + i] = src[i*ld_src + k] for i, k < 16, with AVX-512
// shuffles; returns false (doing nothing) where that is not available.
// (GCC 12's unpack intrinsics start from an "undefined" register that
// -Wmaybe-uninitialized flags; the pragmas scope the exemption.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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
#pragma GCC diagnostic pop

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
  const int64_t threads = num_threads();
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
      const bool enough = G * cdiv(C, c) * cdiv(M, m) >= 4 * threads;
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
  const double op_bytes =
      static_cast<double>(g.N * G * (C * in_sp + M * out_sp) + dw_numel) *
      static_cast<double>(sizeof(T));
  const double dw_bytes =
      static_cast<double>(dw_numel) * static_cast<double>(sizeof(T));
  const int64_t R = iclamp(
      static_cast<int64_t>(0.01 * op_bytes / dw_bytes), 1, imin(16, red));
  const int64_t n_tasks = G * c_chunks * m_chunks * R;
  Scratch<WgradTask> tasks(n_tasks);
  {
    int64_t i = 0;
    for (int64_t grp = 0; grp < G; ++grp)
      for (int64_t ch = 0; ch < c_chunks; ++ch)
        for (int64_t mch = 0; mch < m_chunks; ++mch)
          for (int64_t r = 0; r < R; ++r)
            tasks[i++] = {grp,
                          ch * cc,
                          imin(cc, C - ch * cc),
                          mch * mc,
                          imin(M, mch * mc + mc),
                          r};
  }
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
          int64_t id_lo = 0, id_hi = 0;
          depth_taps(p.cv->ax[0], jd, id_lo, id_hi);
          for (int64_t id = 0; id < p.nt[0]; ++id) {
            if (id >= id_lo && id < id_hi)
              continue;
            const int64_t sl = gp.sd * j + p.cv->ax[0].off[id] - gp.dmin;
            for (int64_t c = 0; c < t.cc; ++c)
              std::memset(
                  bbuf.get() + (c * nsl + sl) * gp.cs, 0,
                  static_cast<size_t>(gp.cs) * sizeof(T));
          }
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
      if (do_bias) {
        T* bout = R == 1 ? g.dbias : bias_partial.get() + t.r * G * M;
        for (int64_t r = 0; r < rows; ++r) {
          const T* lanes = bacc.get() + r * L;
          T s = lanes[0];
          for (int64_t l = 1; l < L; ++l)
            s += lanes[l];
          bout[t.grp * M + t.m0 + r] = s;
        }
      }
    }
  });
  if (R > 1) {
    parallel_for(0, dw_numel, 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        T s = partial[i];
        for (int64_t r = 1; r < R; ++r)
          s += partial[r * dw_numel + i];
        g.dw[i] = s;
      }
    });
    if (g.dbias)
      for (int64_t i = 0; i < G * M; ++i) {
        T s = bias_partial[i];
        for (int64_t r = 1; r < R; ++r)
          s += bias_partial[r * G * M + i];
        g.dbias[i] = s;
      }
  }
}

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
  // (The split R of the (n, plane) reduction depends on the geometry only;
  // mc and cc do not change any result.)
  const int64_t red = g.N * ND;
  const int64_t threads = num_threads();
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
      const bool enough = G * cdiv(C, c) * cdiv(M, m) >= 4 * threads;
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
  const double op_bytes =
      static_cast<double>(g.N * G * (C * in_sp + M * out_sp) + dw_numel) *
      static_cast<double>(sizeof(T));
  const double dw_bytes =
      static_cast<double>(dw_numel) * static_cast<double>(sizeof(T));
  const int64_t R = iclamp(
      static_cast<int64_t>(0.01 * op_bytes / dw_bytes), 1, imin(16, red));
  const int64_t n_tasks = G * c_chunks * m_chunks * R;
  Scratch<WgradTask> tasks(n_tasks);
  {
    int64_t i = 0;
    for (int64_t grp = 0; grp < G; ++grp)
      for (int64_t ch = 0; ch < c_chunks; ++ch)
        for (int64_t mch = 0; mch < m_chunks; ++mch)
          for (int64_t r = 0; r < R; ++r)
            tasks[i++] = {grp,
                          ch * cc,
                          imin(cc, C - ch * cc),
                          mch * mc,
                          imin(M, mch * mc + mc),
                          r};
  }
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
          int64_t id_lo = 0, id_hi = 0;
          depth_taps(p.cv->ax[0], jd, id_lo, id_hi);
          // Slices outside the source were not packed: zero them for the
          // taps that would read them.
          for (int64_t id = 0; id < p.nt[0]; ++id) {
            if (id >= id_lo && id < id_hi)
              continue;
            const int64_t sl = gp.sd * j + p.cv->ax[0].off[id] - gp.dmin;
            for (int64_t c = 0; c < t.cc; ++c)
              std::memset(
                  bbuf.get() + (c * nsl + sl) * gp.cs, 0,
                  static_cast<size_t>(gp.cs) * sizeof(T));
          }
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
      if (do_bias) {
        T* bout = R == 1 ? g.dbias : bias_partial.get() + t.r * G * M;
        for (int64_t r = 0; r < rows; ++r) {
          const T* lanes = bacc.get() + r * L;
          T s = lanes[0];
          for (int64_t l = 1; l < L; ++l)
            s += lanes[l];
          bout[t.grp * M + t.m0 + r] = s;
        }
      }
    }
  });
  if (R > 1) {
    parallel_for(0, dw_numel, 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        T s = partial[i];
        for (int64_t r = 1; r < R; ++r)
          s += partial[r * dw_numel + i];
        g.dw[i] = s;
      }
    });
    if (g.dbias)
      for (int64_t i = 0; i < G * M; ++i) {
        T s = bias_partial[i];
        for (int64_t r = 1; r < R; ++r)
          s += bias_partial[r * G * M + i];
        g.dbias[i] = s;
      }
  }
}

template <class T, class A>
constexpr ConvEngines<T> make_engines(const char* name) {
  return ConvEngines<T>{name, &gather<T, A>, &wgrad<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
