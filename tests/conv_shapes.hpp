#pragma once
// The shared list of convolution shapes for tests and bench/ (oneDNN's
// inputs/conv/shapes_3d* in spirit). Every case is a conv-direction
// ConvGeometry3d (see NOTE [ Conv adjointness ] in
// voxgrad/core/kernels/conv3d.hpp): a ConvTranspose3d case is listed as the
// Conv3d whose adjoint it is, with channels and spatial sizes swapped.
//
// Names are benchdnn-style problem strings from ConvGeometry3d::str(), e.g.
// "mb2ic4id5ih5iw5oc6kd3kh3kw3sd2pd1". Any dilation field (dd dh dw) uses
// PyTorch's convention, 1 = dense (benchdnn's dd0 means dense).

#include <string>
#include <vector>

#include "voxgrad/core/kernels/conv_geometry.hpp"

namespace voxgrad::test {

struct ConvCase {
  std::string name;  // benchdnn problem string, or "<bench name>:<string>"
  kernels::ConvGeometry3d g;
  bool large = false;  // a SPEC §3 benchmark shape: too big for the oracle
  std::string bench;   // SPEC §3 case name, "" for test-only shapes
  bool transposed = false;  // bench op is conv_transpose3d (for its FLOPs)
};

using kernels::ConvGeometry3d;
using kernels::Int3;

/// The Conv3d geometry of x (N, C_in, in) with PyTorch's output formula.
inline ConvGeometry3d conv_geometry(
    int64_t N,
    int64_t C_in,
    int64_t C_out,
    Int3 in,
    Int3 k,
    Int3 s = {1, 1, 1},
    Int3 p = {0, 0, 0},
    Int3 dil = {1, 1, 1},
    int64_t groups = 1) {
  ConvGeometry3d g;
  g.N = N;
  g.C_in = C_in;
  g.C_out = C_out;
  g.groups = groups;
  g.in = in;
  g.kernel = k;
  g.stride = s;
  g.padding = p;
  g.dilation = dil;
  for (int a = 0; a < 3; ++a)
    g.out[a] = ConvGeometry3d::conv_out_size(in[a], k[a], s[a], p[a], dil[a]);
  return g;
}

/// The conv-direction geometry of ConvTranspose3d(C_in_t -> C_out_t) on
/// u (N, C_in_t, in_t): conv input = its output, conv output = its input.
inline ConvGeometry3d transposed_geometry(
    int64_t N,
    int64_t C_in_t,
    int64_t C_out_t,
    Int3 in_t,
    Int3 k,
    Int3 s = {1, 1, 1},
    Int3 p = {0, 0, 0},
    Int3 output_padding = {0, 0, 0},
    Int3 dil = {1, 1, 1},
    int64_t groups = 1) {
  ConvGeometry3d g;
  g.N = N;
  g.C_in = C_out_t;
  g.C_out = C_in_t;
  g.groups = groups;
  g.out = in_t;
  g.kernel = k;
  g.stride = s;
  g.padding = p;
  g.dilation = dil;
  for (int a = 0; a < 3; ++a)
    g.in[a] = (in_t[a] - 1) * s[a] - 2 * p[a] + dil[a] * (k[a] - 1) +
              output_padding[a] + 1;
  return g;
}

inline std::vector<ConvCase> conv_shapes() {
  std::vector<ConvCase> cases;
  auto add = [&cases](const ConvGeometry3d& g) {
    cases.push_back({g.str(), g, false, "", false});
  };
  auto bench = [&cases](const char* name, const ConvGeometry3d& g, bool t) {
    cases.push_back({std::string(name) + ":" + g.str(), g, true, name, t});
  };
  const Int3 one{1, 1, 1}, zero{0, 0, 0};
  // Plain, strided, padded.
  add(conv_geometry(2, 4, 6, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, one));
  add(conv_geometry(1, 3, 5, {4, 5, 6}, {3, 3, 3}));
  add(conv_geometry(2, 3, 4, {7, 5, 3}, {3, 3, 3}, {2, 2, 2}, zero));
  add(conv_geometry(1, 2, 3, {6, 6, 6}, {3, 3, 3}, one, one));
  // 1x1x1 kernels, dense and strided.
  add(conv_geometry(2, 3, 5, {4, 5, 6}, one));
  add(conv_geometry(1, 4, 3, {7, 6, 5}, one, {2, 2, 2}));
  // Stride larger than the kernel (some phases see no tap at all).
  add(conv_geometry(1, 2, 3, {8, 8, 8}, {2, 2, 2}, {3, 3, 3}));
  add(conv_geometry(1, 2, 2, {8, 7, 9}, {2, 2, 2}, {3, 3, 3}, one));
  add(conv_geometry(1, 2, 2, {9, 9, 9}, {3, 3, 3}, {4, 4, 4}, one));
  // Kernel larger than the input, made valid by padding; padding > kernel.
  add(conv_geometry(1, 2, 3, {2, 3, 2}, {5, 5, 5}, one, {2, 2, 2}));
  add(conv_geometry(1, 2, 2, {3, 3, 3}, {2, 2, 2}, one, {3, 3, 3}));
  // Size-1 volumes.
  add(conv_geometry(3, 2, 3, {1, 1, 1}, one));
  add(conv_geometry(2, 3, 2, {1, 1, 1}, {3, 3, 3}, one, one));
  add(conv_geometry(1, 2, 2, {1, 4, 1}, {1, 3, 1}, {1, 2, 1}, {0, 1, 0}));
  // Asymmetric triples everywhere.
  add(conv_geometry(
      2, 3, 4, {6, 7, 9}, {3, 1, 2}, {1, 2, 3}, {1, 0, 1}, {1, 2, 1}));
  add(conv_geometry(
      1, 2, 3, {9, 8, 7}, {2, 3, 3}, {3, 1, 2}, {0, 2, 1}, {2, 1, 3}));
  // Dilation, with and without stride.
  add(conv_geometry(1, 2, 3, {9, 9, 9}, {3, 3, 3}, one, {2, 2, 2}, {2, 2, 2}));
  add(conv_geometry(
      1, 2, 2, {10, 9, 11}, {3, 3, 3}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}));
  // Groups: grouped, depthwise, depthwise with channel multiplier.
  add(conv_geometry(2, 4, 6, {5, 4, 6}, {3, 3, 3}, one, one, one, 2));
  add(conv_geometry(1, 6, 3, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, one, one, 3));
  add(conv_geometry(2, 4, 4, {6, 5, 4}, {3, 3, 3}, one, one, one, 4));
  add(conv_geometry(1, 4, 8, {5, 5, 5}, {3, 3, 3}, {2, 1, 2}, one, one, 4));
  // Channels past one register block (13 = 2*6 + 1) and a reduction longer
  // than one micro-kernel call (12*27 = 324 > 256), over several tiles.
  add(conv_geometry(1, 12, 13, {10, 10, 10}, {3, 3, 3}, one, one));
  add(conv_geometry(2, 13, 7, {6, 6, 33}, {1, 1, 3}, {1, 1, 2}, {0, 0, 1}));
  // Rows of whole SIMD vectors (4, 8 and 16 lanes) and rows longer than a
  // vector but not a multiple of it: the engines' halo layout, with and
  // without stride phases, in direct and in tile (transposed) mode.
  add(conv_geometry(2, 3, 5, {6, 7, 16}, {3, 3, 3}, {2, 2, 2}, one));
  add(conv_geometry(1, 2, 3, {3, 3, 32}, {3, 3, 3}, one, one));
  add(conv_geometry(1, 2, 3, {3, 4, 33}, {3, 3, 3}, one, one));
  add(transposed_geometry(1, 3, 4, {3, 4, 9}, {3, 3, 3}, {2, 2, 2}, one));
  add(transposed_geometry(
      1, 2, 3, {2, 3, 17}, {4, 4, 4}, {2, 2, 2}, one, zero, one, 1));
  // At least 32 output channels per group: the weight gradient vectorised
  // over output channels (AVX-512), with partial vectors of channels.
  add(conv_geometry(1, 3, 33, {5, 6, 7}, {3, 3, 3}, one, one));
  add(conv_geometry(1, 4, 64, {4, 4, 5}, {3, 3, 3}, one, one, one, 2));
  add(transposed_geometry(1, 34, 3, {3, 3, 3}, {3, 3, 3}, {2, 2, 2}, one));
  // More source channels than one chunk holds (the gather accumulates
  // chunks), and few weights over a long reduction (the weight gradient
  // splits it into ordered partial sums): both also in double.
  add(conv_geometry(1, 40, 4, {8, 8, 40}, {3, 3, 3}, one, one));
  add(conv_geometry(2, 1, 2, {16, 16, 16}, {3, 3, 3}, one, one));
  // At most 32 output positions per sample with many channels: im2col +
  // GEMM (NOTE [ When im2col + GEMM ] in conv3d_plan.cpp). A critic's
  // 4^3 -> 2^3 layer; asymmetric stride, padding and dilation (out 3x1x3);
  // a transposed conv (stride 2 scatters in col2im).
  add(conv_geometry(4, 32, 24, {4, 4, 4}, {4, 4, 4}, {2, 2, 2}, one));
  add(conv_geometry(
      3, 20, 17, {5, 6, 7}, {3, 3, 2}, {2, 2, 3}, {1, 0, 1}, {1, 2, 1}));
  add(transposed_geometry(2, 24, 20, {2, 3, 2}, {4, 4, 4}, {2, 2, 2}, one));
  // Empty batch, on the gather paths and on im2col + GEMM.
  add(conv_geometry(0, 3, 4, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, one));
  add(conv_geometry(0, 32, 24, {4, 4, 4}, {4, 4, 4}, {2, 2, 2}, one));
  // Transposed-conv geometries, incl. output_padding (extra > 0) and
  // extra >= stride, which only dilation > stride allows.
  add(transposed_geometry(2, 4, 3, {3, 3, 3}, {4, 4, 4}, {2, 2, 2}, one));
  add(transposed_geometry(
      1, 4, 6, {3, 4, 3}, {3, 3, 3}, {2, 2, 2}, one, one, one, 2));
  add(transposed_geometry(
      1, 2, 3, {1, 1, 1}, {3, 3, 3}, one, zero, one, {2, 2, 2}));
  add(transposed_geometry(
      1, 3, 2, {3, 2, 4}, {3, 3, 3}, {2, 2, 2}, one, {2, 2, 2}, {3, 3, 3}));
  add(transposed_geometry(
      2, 3, 2, {3, 3, 3}, {2, 3, 1}, {3, 2, 4}, {0, 1, 0}, {2, 1, 3}));
  add(transposed_geometry(1, 2, 2, {3, 3, 3}, {3, 3, 3}, {4, 4, 4}, zero));

  // SPEC §3 benchmark shapes (conv direction).
  const Int3 k3{3, 3, 3}, k4{4, 4, 4}, s2{2, 2, 2};
  bench(
      "seed", transposed_geometry(16, 3, 64, {32, 32, 32}, k3, s2, one), true);
  bench(
      "gan_up1", transposed_geometry(8, 128, 64, {8, 8, 8}, k4, s2, one), true);
  bench(
      "gan_up2", transposed_geometry(8, 64, 32, {16, 16, 16}, k4, s2, one),
      true);
  bench("enc_down", conv_geometry(8, 32, 64, {32, 32, 32}, k3, s2, one), false);
  bench("stem", conv_geometry(4, 1, 16, {64, 64, 64}, k3, one, one), false);
  bench("body", conv_geometry(4, 64, 64, {16, 16, 16}, k3, one, one), false);
  bench(
      "dilated",
      conv_geometry(2, 32, 32, {32, 32, 32}, k3, one, {2, 2, 2}, {2, 2, 2}),
      false);
  bench(
      "depthwise",
      conv_geometry(4, 64, 64, {32, 32, 32}, k3, one, one, one, 64), false);
  bench(
      "grouped_up",
      transposed_geometry(4, 64, 64, {16, 16, 16}, k3, s2, one, one, one, 4),
      true);
  return cases;
}

}  // namespace voxgrad::test
