#pragma once
// The GEMM, templated on an xsimd architecture and compiled once per
// instruction set (matmul.cpp: baseline, matmul_avx2.cpp, matmul_avx512.cpp);
// NOTE [ ISA dispatch ] in isa.hpp.
//
// NOTE [ GEMM ]
// ~~~~~~~~~~~~~
// The BLIS loop nest (Van Zee & van de Geijn 2015), row-major:
//   task = one mc x nc tile of C (tasks run in parallel, one thread each)
//     for pc over k in blocks of kc = 256:
//       pack op(B)[pc, tile cols] into nr-wide panels (kc x nr each, zero
//       padded to nr), and op(A)[tile rows, pc] into mr-tall panels
//       for each B panel (it stays in L1) and each A panel (from L2):
//         micro-kernel: an mr x nr block of C in registers, one FMA per
//         (row, vector) per p; then C = acc (first block) or C += acc.
// Register blocks: AVX-512 8 x 32 floats (16 accumulators of 32), AVX2
// 6 x 16 (12 of 16), SSE2 4 x 8 (no FMA: multiply, then add).
// Determinism: C(i, j) = (...((chain_0) + chain_1) + ...) with chain_b the
// FMA chain over p in block b in increasing p, starting from zero. Neither
// the tiling, the thread count nor the register block changes that order,
// and AVX2 and AVX-512 both fuse each multiply-add, so they agree bit for
// bit; SSE2 rounds each product. Padding rows and columns only feed C
// elements that are never stored.

#include <cstdlib>
#include <new>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/matmul_table.hpp"
#include "voxgrad/core/parallel.hpp"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

VOXGRAD_SIMD_WARNINGS_BEGIN
namespace voxgrad::kernels::detail {
namespace {

template <class T, class A>
struct Block {
  using B = xsimd::batch<T, A>;
  static constexpr int W = static_cast<int>(B::size);
  static constexpr bool kWide = sizeof(B) >= 64;
  static constexpr bool kSse = sizeof(B) <= 16;
  static constexpr int MR = kWide ? 8 : (kSse ? 4 : 6);
  static constexpr int NV = 2;
  static constexpr int NR = NV * W;
};

// a * b + c in one rounding where the ISA has FMA. xsimd 8.1's fma for
// avx512f is a multiply then an add, so the instruction is used directly.
template <class T, class A>
inline xsimd::batch<T, A> madd(
    const xsimd::batch<T, A>& a,
    const xsimd::batch<T, A>& b,
    const xsimd::batch<T, A>& c) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<A, xsimd::avx512f>) {
    if constexpr (std::is_same_v<T, float>)
      return _mm512_fmadd_ps(a, b, c);
    else
      return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

// 64-byte-aligned scratch, plain malloc (no standard container is
// instantiated in an ISA-specific translation unit).
template <class T>
struct Packed {
  explicit Packed(int64_t n) {
    const size_t bytes =
        (static_cast<size_t>(n > 0 ? n : 1) * sizeof(T) + 63) / 64 * 64;
    p = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p)
      throw std::bad_alloc();
  }
  ~Packed() {
    std::free(p);
  }
  Packed(const Packed&) = delete;
  Packed& operator=(const Packed&) = delete;
  T* p;
};

// dst[c * ldd + r] = src[r * lds + c] for r, c < TB (TB = 8 floats or 4
// doubles): the square transpose behind the packing of rows into panels.
// AVX2 shuffles where this translation unit has them (AVX-512 files do).
template <class T>
constexpr int kTB = sizeof(T) == 4 ? 8 : 4;

template <class T>
inline void transpose_block(const T* src, int64_t lds, T* dst, int64_t ldd) {
#if defined(__AVX2__)
  if constexpr (std::is_same_v<T, float>) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i)
      r[i] = _mm256_loadu_ps(src + i * lds);
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h) {
      const int o = 4 * h;
      r[o + 0] = _mm256_shuffle_ps(t[o + 0], t[o + 2], 0x44);
      r[o + 1] = _mm256_shuffle_ps(t[o + 0], t[o + 2], 0xEE);
      r[o + 2] = _mm256_shuffle_ps(t[o + 1], t[o + 3], 0x44);
      r[o + 3] = _mm256_shuffle_ps(t[o + 1], t[o + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(
          dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
      _mm256_storeu_ps(
          dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
    return;
  } else {
    __m256d r[4], t[4];
    for (int i = 0; i < 4; ++i)
      r[i] = _mm256_loadu_pd(src + i * lds);
    t[0] = _mm256_unpacklo_pd(r[0], r[1]);
    t[1] = _mm256_unpackhi_pd(r[0], r[1]);
    t[2] = _mm256_unpacklo_pd(r[2], r[3]);
    t[3] = _mm256_unpackhi_pd(r[2], r[3]);
    _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t[0], t[2], 0x20));
    _mm256_storeu_pd(dst + ldd, _mm256_permute2f128_pd(t[1], t[3], 0x20));
    _mm256_storeu_pd(dst + 2 * ldd, _mm256_permute2f128_pd(t[0], t[2], 0x31));
    _mm256_storeu_pd(dst + 3 * ldd, _mm256_permute2f128_pd(t[1], t[3], 0x31));
    return;
  }
#endif
  for (int r = 0; r < kTB<T>; ++r)
    for (int c = 0; c < kTB<T>; ++c)
      dst[c * ldd + r] = src[r * lds + c];
}

// Rows [0, rows) of a row-major source (row r at src + r * lds, elements
// [0, kc)) into a panel of width PW: d[p * PW + r] = src[r * lds + p],
// zero for rows >= rows (the padding of an edge panel).
template <class T, int PW>
void pack_rows_transposed(
    const T* src, int64_t lds, int64_t rows, int64_t kc, T* d) {
  constexpr int TB = kTB<T>;
  int64_t r0 = 0;
  if constexpr (PW % TB == 0) {
    for (; r0 + TB <= rows; r0 += TB) {
      int64_t p = 0;
      for (; p + TB <= kc; p += TB)
        transpose_block<T>(src + r0 * lds + p, lds, d + p * PW + r0, PW);
      for (; p < kc; ++p)
        for (int r = 0; r < TB; ++r)
          d[p * PW + r0 + r] = src[(r0 + r) * lds + p];
    }
  }
  for (int64_t r = r0; r < PW; ++r) {
    if (r < rows) {
      const T* s = src + r * lds;
      for (int64_t p = 0; p < kc; ++p)
        d[p * PW + r] = s[p];
    } else {
      for (int64_t p = 0; p < kc; ++p)
        d[p * PW + r] = T(0);
    }
  }
}

// op(A) rows [i0, i0 + mc), columns [p0, p0 + kc) into MR-row panels:
// panel q holds element (i0 + q*MR + r, p0 + p) at [q*kc*MR + p*MR + r].
template <class T, int MR>
void pack_a(
    const GemmArgs<T>& g,
    const T* a,
    int64_t i0,
    int64_t mc,
    int64_t p0,
    int64_t kc,
    T* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    T* d = dst + ir * kc;
    const int64_t rows = mc - ir < MR ? mc - ir : MR;
    if (!g.trans_a) {
      pack_rows_transposed<T, MR>(
          a + (i0 + ir) * g.lda + p0, g.lda, rows, kc, d);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = a + (p0 + p) * g.lda + i0 + ir;
        for (int r = 0; r < MR; ++r)
          d[p * MR + r] = r < rows ? s[r] : T(0);
      }
    }
  }
}

// op(B) rows [p0, p0 + kc), columns [j0, j0 + nc) into NR-column panels:
// panel q holds element (p0 + p, j0 + q*NR + j) at [q*kc*NR + p*NR + j].
template <class T, int NR>
void pack_b(
    const GemmArgs<T>& g,
    const T* b,
    int64_t p0,
    int64_t kc,
    int64_t j0,
    int64_t nc,
    T* dst) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    T* d = dst + jr * kc;
    const int64_t cols = nc - jr < NR ? nc - jr : NR;
    if (!g.trans_b) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = b + (p0 + p) * g.ldb + j0 + jr;
        T* dp = d + p * NR;
        if (cols == NR) {
          for (int j = 0; j < NR; ++j)
            dp[j] = s[j];
        } else {
          for (int j = 0; j < NR; ++j)
            dp[j] = j < cols ? s[j] : T(0);
        }
      }
    } else {
      pack_rows_transposed<T, NR>(
          b + (j0 + jr) * g.ldb + p0, g.ldb, cols, kc, d);
    }
  }
}

// C[0:mv, 0:nv] (= or +=) the MR x NR product of an A panel and a B panel
// over kc.
template <class T, class A>
void micro_kernel(
    int64_t kc,
    const T* __restrict ap,
    const T* __restrict bp,
    T* c,
    int64_t ldc,
    int64_t mv,
    int64_t nv,
    bool add) {
  using K = Block<T, A>;
  using B = typename K::B;
  constexpr int MR = K::MR, NV = K::NV, W = K::W, NR = K::NR;
  B acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = B(T(0));
  for (int64_t p = 0; p < kc; ++p) {
    B bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = B::load_aligned(bp + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const B av(ap[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[r][v] = madd<T, A>(av, bv[v], acc[r][v]);
    }
    ap += MR;
    bp += NR;
  }
  if (mv == MR && nv == NR) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        T* cp = c + r * ldc + v * W;
        const B out = add ? B::load_unaligned(cp) + acc[r][v] : acc[r][v];
        out.store_unaligned(cp);
      }
    return;
  }
  alignas(64) T tmp[MR * NR];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      acc[r][v].store_aligned(tmp + r * NR + v * W);
  for (int64_t r = 0; r < mv; ++r)
    for (int64_t j = 0; j < nv; ++j) {
      T* cp = c + r * ldc + j;
      *cp = add ? *cp + tmp[r * NR + j] : tmp[r * NR + j];
    }
}

template <class T, class A>
void gemm_k(const GemmArgs<T>& g, const GemmTiling& t) {
  using K = Block<T, A>;
  constexpr int MR = K::MR, NR = K::NR;
  const int64_t tiles = g.batch * t.tiles_m * t.tiles_n;
  const int64_t kc_max = g.k < kGemmKc ? g.k : kGemmKc;
  // One task per tile; a small product runs as a single task.
  const double flops = static_cast<double>(g.batch) * static_cast<double>(g.m) *
                       static_cast<double>(g.n) * static_cast<double>(g.k);
  const int64_t grain = flops < 65536.0 ? tiles : 1;
  parallel_for(0, tiles, grain, [&](int64_t u0, int64_t u1) {
    Packed<T> ap(t.mc * kc_max);
    Packed<T> bp(t.nc * kc_max);
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t bi = u / (t.tiles_m * t.tiles_n);
      const int64_t tm = (u / t.tiles_n) % t.tiles_m, tn = u % t.tiles_n;
      const int64_t i0 = tm * t.mc, j0 = tn * t.nc;
      const int64_t mc = g.m - i0 < t.mc ? g.m - i0 : t.mc;
      const int64_t nc = g.n - j0 < t.nc ? g.n - j0 : t.nc;
      const T* a = g.a + bi * g.stride_a;
      const T* b = g.b + bi * g.stride_b;
      T* c = g.c + bi * g.stride_c;
      for (int64_t p0 = 0; p0 < g.k; p0 += kGemmKc) {
        const int64_t kc = g.k - p0 < kGemmKc ? g.k - p0 : kGemmKc;
        const bool add = g.accumulate || p0 > 0;
        pack_b<T, NR>(g, b, p0, kc, j0, nc, bp.p);
        pack_a<T, MR>(g, a, i0, mc, p0, kc, ap.p);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nv = nc - jr < NR ? nc - jr : NR;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mv = mc - ir < MR ? mc - ir : MR;
            micro_kernel<T, A>(
                kc, ap.p + ir * kc, bp.p + jr * kc,
                c + (i0 + ir) * g.ldc + j0 + jr, g.ldc, mv, nv, add);
          }
        }
      }
    }
  });
}

template <class T, class A>
constexpr MatmulTable<T> make_matmul_table(const char* name) {
  return {name, Block<T, A>::MR, Block<T, A>::NR, &gemm_k<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
VOXGRAD_SIMD_WARNINGS_END
