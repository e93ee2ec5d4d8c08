#pragma once
// The three differentiable conv ops, on an already validated geometry (the
// user-facing API with PyTorch's arguments and checks is voxgrad/nn/conv.hpp).
// See NOTE [ Conv adjointness ] in voxgrad/core/kernels/conv3d.hpp: each op's
// backward is written with the other two, so every derivative of every
// order runs through the same three kernels.

#include "voxgrad/core/kernels/conv_geometry.hpp"
#include "voxgrad/core/padding_mode.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::autograd {

using kernels::ConvGeometry3d;

/// y = A_w x (+ b): x (N, C_in, in), w any layout with g.w_numel() elements
/// (5-D, or 6-D grouped), b undefined or C_out elements. y (N, C_out, out).
/// With a padding mode other than zeros, A_w = A_{w,0} P: x is padded by
/// g.padding in that mode, then convolved with padding 0 (NOTE [ Conv
/// padding modes ] in voxgrad/core/kernels/padded_conv.hpp).
Tensor conv3d_op(
    const Tensor& x,
    const Tensor& w,
    const Tensor& b,
    const ConvGeometry3d& g,
    PaddingMode mode = PaddingMode::Zeros);

/// z = A_wᵀ u (+ b): u (N, C_out, out) -> z (N, C_in, in); b has C_in
/// elements. This is ConvTranspose3d's forward on its swapped geometry, and
/// (without b) conv3d_op's input gradient, for every padding mode.
Tensor conv_transpose3d_op(
    const Tensor& u,
    const Tensor& w,
    const Tensor& b,
    const ConvGeometry3d& g,
    PaddingMode mode = PaddingMode::Zeros);

/// dw = ∂<A_w x, dy>/∂w, returned in `w_shape` (the weight's own layout).
Tensor conv3d_weight_op(
    const Tensor& x,
    const Tensor& dy,
    const ConvGeometry3d& g,
    const Shape& w_shape);

}  // namespace voxgrad::autograd
