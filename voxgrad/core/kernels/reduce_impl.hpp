#pragma once
// The reductions' loops, templated on an xsimd architecture and compiled
// once per instruction set (reduce.cpp: baseline, reduce_avx2.cpp,
// reduce_avx512.cpp); NOTE [ ISA dispatch ] in isa.hpp.
//
// NOTE [ Sums independent of the ISA ]
// A contiguous run is summed in pieces of 1024 elements; inside a piece,
// element j goes to lane j mod 32 of 32 partial sums (in T, in order of j),
// and the 32 lanes are added in one fixed tree; pieces, runs and blocks are
// then added in double in order. 32 lanes are 8 SSE2, 4 AVX2 or 2 AVX-512
// float registers (16/8/4 for double): every instruction set performs the
// same additions, so sums are bit-identical across ISAs and thread counts.

#include <cmath>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/reduce_table.hpp"
#include "voxgrad/core/parallel.hpp"

VOXGRAD_SIMD_WARNINGS_BEGIN
namespace voxgrad::kernels::detail {
namespace {

constexpr int64_t kLanes = 32;
constexpr int64_t kPiece = 1024;  // a multiple of kLanes

// The fixed tree over 32 lanes: halves added pairwise, 16 + 16, 8 + 8, ...
template <class T>
T sum_lanes(T* p) {
  for (int64_t h = kLanes / 2; h >= 1; h /= 2)
    for (int64_t l = 0; l < h; ++l)
      p[l] = p[l] + p[l + h];
  return p[0];
}

template <class T, class A>
double sum_run(const T* p, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t W = B::size;
  constexpr int64_t R = kLanes / W;  // registers per 32 lanes
  static_assert(kLanes % W == 0);
  double total = 0;
  for (int64_t j0 = 0; j0 < n; j0 += kPiece) {
    const int64_t m = n - j0 < kPiece ? n - j0 : kPiece;
    const T* q = p + j0;
    B acc[R];
    for (int64_t r = 0; r < R; ++r)
      acc[r] = B(T(0));
    int64_t j = 0;
    for (; j + kLanes <= m; j += kLanes)
      for (int64_t r = 0; r < R; ++r)
        acc[r] += B::load_unaligned(q + j + r * W);
    alignas(64) T lanes[kLanes];
    for (int64_t r = 0; r < R; ++r)
      acc[r].store_aligned(lanes + r * W);
    for (int64_t l = 0; j < m; ++j, ++l)
      lanes[l] = lanes[l] + q[j];
    total += static_cast<double>(sum_lanes(lanes));
  }
  return total;
}

// Offset in x of kept index o and of reduced index k.
template <class T>
int64_t kept_offset(const ReduceArgs<T>& a, int64_t o) {
  int64_t base = 0;
  for (int64_t i = a.nk; i-- > 0;) {
    base += (o % a.kept_sizes[i]) * a.kept_strides[i];
    o /= a.kept_sizes[i];
  }
  return base;
}

template <class T, class A>
void reduce_k(const ReduceArgs<T>& a, double* partial) {
  const int64_t nr = a.nr;
  const int64_t inner = a.red_sizes[nr - 1],
                inner_stride = a.red_strides[nr - 1];
  const int64_t rlen = a.rlen, nb = a.blocks, per_block = a.per_block;
  const int64_t grain =
      std::max<int64_t>(1, 32768 / std::max<int64_t>(1, per_block));
  parallel_for(0, a.nout * nb, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / nb, b = u % nb;
      const int64_t base = kept_offset(a, o);
      int64_t k = b * per_block;
      const int64_t kend = std::min(rlen, k + per_block);
      double acc = a.sum ? 0.0 : -INFINITY;
      while (k < kend) {
        // Offset of reduced index k, then a run along the innermost axis.
        int64_t off = base, rem = k / inner;
        for (int64_t i = nr - 1; i-- > 0;) {
          off += (rem % a.red_sizes[i]) * a.red_strides[i];
          rem /= a.red_sizes[i];
        }
        const int64_t j0 = k % inner;
        const int64_t m = std::min(inner - j0, kend - k);
        const T* p = a.x + off + j0 * inner_stride;
        if (a.sum) {
          if (inner_stride == 1) {
            acc += sum_run<T, A>(p, m);
          } else {
            for (int64_t j = 0; j < m; ++j)
              acc += static_cast<double>(p[j * inner_stride]);
          }
        } else {
          for (int64_t j = 0; j < m; ++j) {
            const double v = static_cast<double>(p[j * inner_stride]);
            if (v > acc || std::isnan(v))
              acc = v;
            if (std::isnan(acc))
              break;
          }
        }
        k += m;
      }
      partial[u] = acc;
    }
  });
}

// Sums where the kept outputs are contiguous in x (kept stride 1, e.g. a
// bias gradient summed over the batch): W outputs at a time, each added in
// double in the same order of k as reduce_k's strided loop would, so the
// results are those of reduce_k, faster.
template <class T, class A>
void sum_outer_k(const ReduceArgs<T>& a, double* partial) {
  using D = xsimd::batch<double, A>;
  constexpr int64_t W = D::size;
  const int64_t inner = a.nout;  // contiguous outputs
  const int64_t chunks = (inner + W - 1) / W;
  const int64_t grain =
      std::max<int64_t>(1, 32768 / std::max<int64_t>(1, a.rlen * W));
  parallel_for(0, chunks, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t o0 = c * W, m = std::min(W, inner - o0);
      alignas(64) double acc[W] = {};
      alignas(64) double v[W] = {};
      for (int64_t k = 0; k < a.rlen; ++k) {
        int64_t off = 0, rem = k;
        for (int64_t i = a.nr; i-- > 0;) {
          off += (rem % a.red_sizes[i]) * a.red_strides[i];
          rem /= a.red_sizes[i];
        }
        const T* p = a.x + off + o0;
        for (int64_t l = 0; l < m; ++l)
          v[l] = static_cast<double>(p[l]);
        (D::load_aligned(acc) + D::load_aligned(v)).store_aligned(acc);
      }
      for (int64_t l = 0; l < m; ++l)
        partial[o0 + l] = acc[l];
    }
  });
}

template <class T, class A>
constexpr ReduceTable<T> make_reduce_table(const char* name) {
  return {name, &reduce_k<T, A>, &sum_outer_k<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
VOXGRAD_SIMD_WARNINGS_END
