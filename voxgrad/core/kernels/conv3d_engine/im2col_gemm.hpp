#pragma once
// Executor Im2colGemm (Path::Im2colGemm), all three passes: convs whose
// output has few positions per sample (at most 32, e.g. the 4³ -> 2³ layer
// of a critic; NOTE [ When im2col + GEMM ] in conv3d_plan.cpp). The gather
// and wgrad executors vectorise over output positions, so 8 positions fill
// half an AVX-512 vector and the packing of windows dominates (13 GFLOP/s
// on the WGAN-GP critic's last layer); here each pass is one GEMM over the im2col
// matrix instead, vectorised over channels by kernels::gemm (NOTE [ GEMM ]
// in matmul_impl.hpp: its own ISA dispatch, every sum in one fixed order,
// bit-identical for any thread count). Used with one conv group only (the
// plan never picks it otherwise). Included by conv3d.cpp only: GEMM
// dispatches by itself, so this file is compiled once, not per ISA.
//
//   P = out_d*out_h*out_w positions per sample, K = C_in * kd*kh*kw
//   col  [N*P][K]   col[(n, o)][(ci, t)] = x[n, ci, o*s - p + t*dil], 0 in
//                   the padding
//   fwd         yt[N*P][C_out] = col @ wᵀ            (w as (C_out, K))
//               y[n, co, o]    = yt[n*P + o][co] + bias[co]
//   bwd_data    dcol[n][P][K]  = dy[n]ᵀ @ w          (dy[n] as (C_out, P))
//               dx = col2im(dcol) + bias: each (n, ci) plane is summed by
//               one task, over (o, t) in order
//   bwd_weight  dyr[C_out][N*P] = dy as (C_out, (n, o))
//               dw = dyr @ col                        (reduction over (n, o))

#include <algorithm>
#include <cstring>
#include <vector>

#include "voxgrad/core/kernels/conv3d_engine/scratch.hpp"
#include "voxgrad/core/kernels/conv3d_plan.hpp"
#include "voxgrad/core/kernels/conv_geometry.hpp"
#include "voxgrad/core/kernels/matmul.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

/// Per axis a: src[a][o * k + t] = o*s - p + t*dil, the source index tap t
/// of output position o reads, or -1 where that is padding.
struct Im2colIndex {
  std::vector<int64_t> src[3];
  explicit Im2colIndex(const ConvGeometry3d& g) {
    for (size_t a = 0; a < 3; ++a) {
      src[a].resize(static_cast<size_t>(g.out[a] * g.kernel[a]));
      for (int64_t o = 0; o < g.out[a]; ++o)
        for (int64_t t = 0; t < g.kernel[a]; ++t) {
          const int64_t i = o * g.stride[a] - g.padding[a] + t * g.dilation[a];
          src[a][static_cast<size_t>(o * g.kernel[a] + t)] =
              i >= 0 && i < g.in[a] ? i : -1;
        }
    }
  }
};

/// col (N*P rows of K) from x; rows split over threads (each row is
/// written by one task).
template <class T>
void im2col(
    const ConvGeometry3d& g, const Im2colIndex& ix, const T* x, T* col) {
  const int64_t P = g.out_numel(), K = g.C_in * g.kernel_numel();
  const int64_t kd = g.kernel[0], kh = g.kernel[1], kw = g.kernel[2];
  const int64_t H = g.in[1], W = g.in[2], vol = g.in[0] * H * W;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(K, 1));
  parallel_for(0, g.N * P, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / P, o = r % P;
      const int64_t ow = o % g.out[2], oh = (o / g.out[2]) % g.out[1];
      const int64_t od = o / (g.out[2] * g.out[1]);
      const int64_t* sd = ix.src[0].data() + od * kd;
      const int64_t* sh = ix.src[1].data() + oh * kh;
      const int64_t* sw = ix.src[2].data() + ow * kw;
      T* dst = col + r * K;
      for (int64_t ci = 0; ci < g.C_in; ++ci) {
        const T* plane = x + (n * g.C_in + ci) * vol;
        for (int64_t td = 0; td < kd; ++td) {
          if (sd[td] < 0) {
            std::fill(dst, dst + kh * kw, T(0));
            dst += kh * kw;
            continue;
          }
          for (int64_t th = 0; th < kh; ++th) {
            if (sh[th] < 0) {
              std::fill(dst, dst + kw, T(0));
              dst += kw;
              continue;
            }
            const T* row = plane + (sd[td] * H + sh[th]) * W;
            for (int64_t tw = 0; tw < kw; ++tw)
              *dst++ = sw[tw] < 0 ? T(0) : row[sw[tw]];
          }
        }
      }
    }
  });
}

template <class T>
void im2col_gemm_fwd(
    const ConvGeometry3d& g, const T* x, const T* w, T* y, const T* bias) {
  const int64_t P = g.out_numel(), K = g.C_in * g.kernel_numel();
  const int64_t rows = g.N * P, M = g.C_out;
  if (rows == 0 || M == 0)
    return;
  const Im2colIndex ix(g);
  Scratch<T> col(rows * K), yt(rows * M);
  im2col(g, ix, x, col.get());
  GemmArgs<T> a;
  a.m = rows;
  a.n = M;
  a.k = K;
  a.a = col.get();
  a.lda = K;
  a.b = w;
  a.ldb = K;
  a.trans_b = true;
  a.c = yt.get();
  a.ldc = M;
  a.profile = false;
  gemm(a);
  const T* ytp = yt.get();
  parallel_for(
      0, g.N * M, std::max<int64_t>(1, 4096 / P), [&](int64_t b, int64_t e) {
        for (int64_t nm = b; nm < e; ++nm) {
          const int64_t n = nm / M, m = nm % M;
          const T add = bias ? bias[m] : T(0);
          T* dst = y + nm * P;
          const T* src = ytp + n * P * M + m;
          for (int64_t o = 0; o < P; ++o)
            dst[o] = src[o * M] + add;
        }
      });
}

template <class T>
void im2col_gemm_bwd_data(
    const ConvGeometry3d& g, const T* dy, const T* w, T* dx, const T* bias) {
  const int64_t P = g.out_numel(), K = g.C_in * g.kernel_numel();
  const int64_t vol = g.x_numel() / std::max<int64_t>(g.N * g.C_in, 1);
  if (g.x_numel() == 0)  // N = 0: nothing to write
    return;
  const Im2colIndex ix(g);
  Scratch<T> dcol(g.N * P * K);
  GemmArgs<T> a;
  a.batch = g.N;
  a.m = P;
  a.n = K;
  a.k = g.C_out;
  a.a = dy;
  a.lda = P;
  a.stride_a = g.C_out * P;
  a.trans_a = true;
  a.b = w;
  a.ldb = K;
  a.c = dcol.get();
  a.ldc = K;
  a.stride_c = P * K;
  a.profile = false;
  gemm(a);
  const int64_t kd = g.kernel[0], kh = g.kernel[1], kw = g.kernel[2];
  const int64_t kvol = kd * kh * kw, H = g.in[1], W = g.in[2];
  const T* dc = dcol.get();
  parallel_for(0, g.N * g.C_in, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t n = p / g.C_in, ci = p % g.C_in;
      T* plane = dx + p * vol;
      std::fill(plane, plane + vol, bias ? bias[ci] : T(0));
      for (int64_t o = 0; o < P; ++o) {
        const int64_t ow = o % g.out[2], oh = (o / g.out[2]) % g.out[1];
        const int64_t od = o / (g.out[2] * g.out[1]);
        const int64_t* sd = ix.src[0].data() + od * kd;
        const int64_t* sh = ix.src[1].data() + oh * kh;
        const int64_t* sw = ix.src[2].data() + ow * kw;
        const T* src = dc + (n * P + o) * K + ci * kvol;
        for (int64_t td = 0; td < kd; ++td) {
          if (sd[td] < 0)
            continue;
          for (int64_t th = 0; th < kh; ++th) {
            if (sh[th] < 0)
              continue;
            T* row = plane + (sd[td] * H + sh[th]) * W;
            const T* v = src + (td * kh + th) * kw;
            for (int64_t tw = 0; tw < kw; ++tw)
              if (sw[tw] >= 0)
                row[sw[tw]] += v[tw];
          }
        }
      }
    }
  });
}

template <class T>
void im2col_gemm_bwd_weight(
    const ConvGeometry3d& g, const T* x, const T* dy, T* dw) {
  const int64_t P = g.out_numel(), K = g.C_in * g.kernel_numel();
  const int64_t rows = g.N * P, M = g.C_out;
  if (rows == 0) {  // an empty sum (conv3d_bwd_weight handles N = 0 first)
    std::fill(dw, dw + M * K, T(0));
    return;
  }
  const Im2colIndex ix(g);
  Scratch<T> col(rows * K), dyr(M * rows);
  im2col(g, ix, x, col.get());
  T* r = dyr.get();
  parallel_for(
      0, g.N * M, std::max<int64_t>(1, 4096 / P), [&](int64_t b, int64_t e) {
        for (int64_t nm = b; nm < e; ++nm) {
          const int64_t n = nm / M, m = nm % M;
          std::memcpy(
              r + m * rows + n * P, dy + nm * P,
              static_cast<size_t>(P) * sizeof(T));
        }
      });
  GemmArgs<T> a;
  a.m = M;
  a.n = K;
  a.k = rows;
  a.a = r;
  a.lda = rows;
  a.b = col.get();
  a.ldb = K;
  a.c = dw;
  a.ldc = K;
  a.profile = false;
  gemm(a);
}

}  // namespace
}  // namespace voxgrad::kernels::detail
