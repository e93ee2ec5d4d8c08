#pragma once
// The conv maps under a padding mode, composed from the three conv kernels
// (conv3d.hpp) and the padding kernels (pad3d.hpp); not a fourth conv kernel.
//
// NOTE [ Conv padding modes ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// With P the padding map of mode m by g.padding on both sides of every axis
// (NOTE [ Padding as a linear map ] in pad3d.hpp) and A_0 the conv of g with
// padding 0 on the padded input, Conv3d(padding_mode=m) is A_0 P, so its
// transpose -- ConvTranspose3d(padding_mode=m), and Conv3d's input
// gradient -- is Pᵀ A_0ᵀ. For zeros P is the zero padding and these are
// the plain kernels on g.
//
//   conv3d_fwd_padded       y  = A_0 P x   pad x, then the forward kernel
//   conv3d_bwd_data_padded  dx = Pᵀ A_0ᵀ dy
//
// Pᵀ A_0ᵀ dy is not computed as written: A_0ᵀ dy is larger than dx by the
// halo (18³ instead of 16³ for padding 1), and the kernel's cost grows with
// it. Instead its interior -- which is exactly the zero-padding transposed
// conv A_pᵀ dy of g -- is computed by the bwd_data kernel on g, and only its
// halo by small transposed convs. The halo is cut into 26 pieces, one
// window per axis (Lo, Mid or Hi, not all Mid): 6 faces, 12 edges and 8
// corners. A piece receives taps only from a thin slice of dy and of the
// weight along each of its halo axes (e.g. the width-lo face: the first dy
// columns and the first width taps), so it is the transposed conv of that
// slice of dy with that slice of the weight, its halo axes moved to the
// front (a permutation of the spatial axes, under which a conv is the same
// conv): the thin axis is the kernel's depth, whose taps it skips exactly,
// and a face's planes are the interior's (whole vectors). The pieces whose
// transposed convs have one geometry are stacked as the conv groups of one
// bwd_data call (a cubic geometry: three calls, faces, edges and corners,
// whatever its size); their slices are gathered, and their results
// scattered into PadHalo's slabs, by one parallel copy each, and the slabs
// are folded onto the voxels they were copied from by pad3d_adjoint_halo.
// The result is Pᵀ A_0ᵀ dy up to rounding; the order of every sum is fixed
// by the geometry, so it is bit-identical for any thread count.
//
// What that costs (docs/padding-modes.md, "Speed"): the halo's taps are
// inherent -- on the bench's body (16³, k3, p1) 12.5 % of what the
// zero-padding kernel computes, on gan_up2 9.4 % -- and the fold is a pass
// over dx, so these maps cost 1.15-1.3x zeros there; the other passes (a
// pad, then the zero-padding kernel) 1.04-1.19x, mostly the pad's traffic.

#include "voxgrad/core/kernels/conv_geometry.hpp"
#include "voxgrad/core/padding_mode.hpp"

namespace voxgrad::kernels {

/// y = A_0 P x (+ bias): Conv3d with padding_mode `mode`. Layouts as
/// conv3d_fwd on g (x is the *unpadded* input, g.padding the amount P adds
/// on each side). For PaddingMode::Zeros this is conv3d_fwd(g, ...).
template <class T>
void conv3d_fwd_padded(
    const ConvGeometry3d& g,
    PaddingMode mode,
    const T* x,
    const T* w,
    T* y,
    const T* bias = nullptr);

/// dx = Pᵀ A_0ᵀ dy (+ bias): ConvTranspose3d with padding_mode `mode` on
/// its swapped geometry, and Conv3d's input gradient. Layouts as
/// conv3d_bwd_data on g. For PaddingMode::Zeros this is conv3d_bwd_data.
template <class T>
void conv3d_bwd_data_padded(
    const ConvGeometry3d& g,
    PaddingMode mode,
    const T* dy,
    const T* w,
    T* dx,
    const T* bias = nullptr);

/// The geometry of A_0: padding 0 on the input padded by g.padding.
ConvGeometry3d zero_padding_geometry(const ConvGeometry3d& g);

}  // namespace voxgrad::kernels
