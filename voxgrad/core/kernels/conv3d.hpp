#pragma once
// The three 3-D convolution kernels. Raw pointers + explicit geometry; no
// autograd, no Tensor. The bias is optional: an epilogue of fwd and
// bwd_data, with the same result as adding it afterwards would give (its
// gradient, the sum of dy, is a reduction the autograd op computes).
//
// NOTE [ Conv adjointness ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// For a fixed weight w and geometry g, Conv3d is a linear map A_w from x-space
// (N, C_in, in) to y-space (N, C_out, out). Everything else is built from
// three kernels over that one map:
//
//   conv3d_fwd        y  = A_w x
//   conv3d_bwd_data   dx = A_wᵀ dy            (the transposed convolution)
//   conv3d_bwd_weight dw = ∂<A_w x, dy>/∂w    (bilinear in x and dy)
//
// ConvTranspose3d(u, w) is *defined* as A_wᵀ u: PyTorch's transposed
// convolution is exactly the gradient of a convolution with respect to its
// input, and PyTorch's weight layouts make the weight tensor shared, not
// permuted: a ConvTranspose3d(in -> out) weight (C_in_t, C_out_t/g, k) is the
// weight (C_out, C_in/g, k) of the Conv3d(out -> in) with C_out = C_in_t,
// C_in = C_out_t. So, with g' the swapped geometry (conv-input = transposed
// output, conv-output = transposed input):
//
//   Conv3d           fwd: fwd(g)            ConvTranspose3d  fwd: bwd_data(g')
//                    dx : bwd_data(g)                        du : fwd(g')
//                    dw : bwd_weight(g,x,dy)                 dw : bwd_weight(
//                                                                  g', dz, u)
//
// Each op's backward-data is the other's forward, because (Aᵀ)ᵀ = A; and both
// weight gradients are the same bilinear form <A_w a, b> differentiated in w,
// with a the conv-side input and b the conv-side output gradient. Three
// kernels serve both ops; a fourth would be a second implementation of one
// of these maps and could drift from it. Because ConvTranspose3d's output can
// be longer than the conv formula implies (output_padding), the geometry
// stores both spatial sizes and validate() allows the conv-input to exceed
// the covered span by up to max(stride, dilation) - 1: those trailing input
// positions receive no taps (their dx is zero; they never affect y).
//
// Implementation (docs/conv-engine.md): each call is planned first
// (conv3d_plan.hpp: a pure function of the geometry, pass, instruction set
// and element type) and then carried out by the plan's executor, one per
// path, in conv3d_engine/. fwd and bwd_data are both gathers: for a plane
// of destination positions and a chunk of source channels, pack the source
// values each tap reads into a window (each tap's values for consecutive
// positions are then one run at a fixed offset) and multiply by the weights
// with a register-blocked SIMD kernel. bwd_data is a gather, not a scatter:
// by the sub-pixel (phase) decomposition, the dx positions with a fixed
// residue (i + p) mod s per axis see a fixed set of taps, each reading dy
// at a fixed offset, so each phase is a dense stride-1 correlation and
// every dx element is written once. bwd_weight packs the same windows and
// reduces over (n, position) in SIMD lanes or over positions for vectors of
// output channels. Every kernel partitions its own output across threads
// and computes each element by one chain of operations fixed by the plan,
// so results are bit-identical for any thread count.

#include "voxgrad/core/kernels/conv_geometry.hpp"

namespace voxgrad::kernels {

// All three: the output must not overlap an input; pointers may be null
// when the tensor they point to is empty (N == 0 leaves x, y, dx, dy empty).
// Parallel over voxgrad::parallel_for; results do not depend on the thread
// count (bit-identical), but may differ in the last bits between
// instruction sets (fused multiply-add, vector width).

/// y = A_w x (+ bias). Validates g (throws voxgrad::Error naming "conv3d");
/// overwrites y. Layouts (contiguous, row-major):
///   x (N, C_in, in_d, in_h, in_w), w (C_out, C_in/groups, kd, kh, kw),
///   y (N, C_out, out_d, out_h, out_w), bias (C_out) or null.
/// With a bias, y[n, c, o] = (sum of the products) + bias[c], exactly as
/// adding the bias afterwards would.
///   conv3d_fwd<float>(g, x.data(), w.data(), y.data(), b.data());
template <class T>
void conv3d_fwd(
    const ConvGeometry3d& g,
    const T* x,
    const T* w,
    T* y,
    const T* bias = nullptr);

/// dx = A_wᵀ dy (+ bias) (also ConvTranspose3d's forward on the swapped
/// geometry). Overwrites dx (N, C_in, in); dy is (N, C_out, out), w as
/// above, bias (C_in) or null, added after the sum.
///   conv3d_bwd_data<float>(g, dy.data(), w.data(), dx.data());
template <class T>
void conv3d_bwd_data(
    const ConvGeometry3d& g,
    const T* dy,
    const T* w,
    T* dx,
    const T* bias = nullptr);

/// dw = ∂<A_w x, dy>/∂w, shaped like w (C_out, C_in/groups, kd, kh, kw).
/// Overwrites dw (zeros when N == 0).
///   conv3d_bwd_weight<float>(g, x.data(), dy.data(), dw.data());
template <class T>
void conv3d_bwd_weight(const ConvGeometry3d& g, const T* x, const T* dy, T* dw);

/// Name of the instruction set the kernels dispatch to on this machine
/// ("avx512", "avx2" or "generic"), for benchmarks and bug reports.
const char* conv3d_isa();

}  // namespace voxgrad::kernels
