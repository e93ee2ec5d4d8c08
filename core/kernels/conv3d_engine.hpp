#pragma once
// Internal to the conv3d kernels: the two engines behind conv3d_fwd,
// conv3d_bwd_data and conv3d_bwd_weight, and the per-axis index maps they
// are driven by. conv3d.cpp builds the maps (conv or transposed-phase
// direction); the engines know nothing about which op they serve.

#include <cstdint>
#include <vector>

#include "core/kernels/conv3d_internal.hpp"
#include "core/kernels/conv_geometry.hpp"

namespace voxgrad::kernels::detail {

/// One spatial axis of a gather: destination positions j in [0, n_pos) at
/// dst index dst_step*j + dst_off; tap number i (weight tap tap[i]) reads
/// the source at src_step*j + off[i], valid (inside [0, src_len)) exactly
/// for j in [lo[i], hi[i]); elsewhere it reads zero padding.
struct AxisMap {
  int64_t n_pos = 0;
  int64_t src_len = 0;
  int64_t src_step = 1;
  int64_t dst_step = 1, dst_off = 0;
  std::vector<int64_t> tap, off, lo, hi;

  int64_t taps() const {
    return static_cast<int64_t>(tap.size());
  }
  void add_tap(int64_t t, int64_t offset);
};

/// A set of destination positions that share one tap set on every axis: the
/// whole output for a conv, one sub-pixel phase for a transposed conv.
struct GatherClass {
  AxisMap ax[3];
};

/// dst[n, grp*M + m, pos] = sum over c < C_src and the class taps of
///   W(grp, m, c, tap) * src[n, grp*C_src + c, src index(pos, tap)],
/// for every class and position. W is the conv weight (C_out, C_in/G, k):
/// rows m are its output channels if w_rows_are_dst (conv3d_fwd), else its
/// input channels (conv3d_bwd_data, which needs the transposed matrix).
struct GatherProblem {
  int64_t N = 0, G = 1, M = 0, C_src = 0;
  Int3 src_dims{}, dst_dims{}, kernel{};
  bool w_rows_are_dst = true;
  std::vector<GatherClass> classes;
};

template <class T>
void run_gather(
    const GatherProblem& pb,
    const T* src,
    const T* w,
    T* dst,
    const MicroKernels<T>& mk);

/// dw = sum over n and output positions of dy (x) gathered x, with ax the
/// conv-direction maps of g.
struct WgradProblem {
  ConvGeometry3d g;
  AxisMap ax[3];
};

template <class T>
void run_wgrad(
    const WgradProblem& pb,
    const T* x,
    const T* dy,
    T* dw,
    const MicroKernels<T>& mk);

}  // namespace voxgrad::kernels::detail
