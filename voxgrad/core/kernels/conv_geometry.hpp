#pragma once
// The geometry of one 3-D convolution, shared by the three conv kernels and
// by both Conv3d and ConvTranspose3d (see NOTE [ Conv adjointness ] in
// conv3d.hpp). It is always stated in the *conv direction*:
//   x (N, C_in, in) --conv3d--> y (N, C_out, out).
// Both spatial sizes are stored, so the kernels never see output_padding:
// ConvTranspose3d builds a geometry whose `in` is its own (longer) output.

#include <array>
#include <cstdint>
#include <string>

namespace voxgrad::kernels {

/// A spatial triple (depth, height, width).
using Int3 = std::array<int64_t, 3>;

/// Geometry of one convolution in the conv direction, x -> y.
///   ConvGeometry3d g{.N = 2, .C_in = 4, .C_out = 6, .in = {5, 5, 5},
///                    .out = {3, 3, 3}, .kernel = {3, 3, 3}, .stride =
///                    {2, 2, 2}, .padding = {1, 1, 1}};  g.validate("conv3d");
struct ConvGeometry3d {
  int64_t N = 0, C_in = 0, C_out = 0, groups = 1;
  Int3 in{}, out{}, kernel{}, stride{1, 1, 1}, padding{}, dilation{1, 1, 1};

  /// Throws voxgrad::Error naming `op`, the field, its value and the rule if
  /// the geometry is inconsistent. Rules: N >= 0; C_in, C_out, groups >= 1
  /// and groups divides both; in, out, kernel, stride, dilation >= 1;
  /// padding >= 0; and per axis, with
  ///   extra = in - ((out-1)*stride - 2*padding + dilation*(kernel-1) + 1),
  /// 0 <= extra < max(stride, dilation). For a Conv3d, extra is the remainder
  /// the floor drops; for a ConvTranspose3d it is its output_padding, which
  /// PyTorch allows up to max(stride, dilation) - 1.
  ///
  /// Also: along each axis the padded input (in + 2*padding) and the
  /// kernel's reach ((out-1)*stride + dilation*(kernel-1) + 1) are at most
  /// 2^62, and padding, stride and dilation of the canonical() geometry are
  /// at most kMaxStep (2^31): beyond that no tensor can have the extents
  /// that make them meaningful, and the kernels' index arithmetic is only
  /// proven for steps in that range.
  void validate(const char* op) const;

  /// The same linear map with the steps that cannot matter made small: a
  /// stride along an axis with one output position, and a dilation along an
  /// axis with a one-tap kernel, are replaced by the smallest value that
  /// keeps validate()'s in/out rule (stride INT64_MAX with one output is a
  /// valid conv; its kernels must not multiply by it). The kernels run on
  /// this geometry.
  ConvGeometry3d canonical() const;

  static constexpr int64_t kMaxStep = int64_t{1} << 31;

  /// floor((in + 2p - dil*(k-1) - 1) / s) + 1, PyTorch's Conv3d output size
  /// (may be <= 0 for too-small inputs; validate() rejects those).
  static int64_t conv_out_size(
      int64_t in, int64_t k, int64_t s, int64_t p, int64_t dil);

  int64_t C_in_g() const {
    return C_in / groups;
  }
  int64_t C_out_g() const {
    return C_out / groups;
  }
  int64_t in_numel() const {  // spatial
    return in[0] * in[1] * in[2];
  }
  int64_t out_numel() const {  // spatial
    return out[0] * out[1] * out[2];
  }
  int64_t kernel_numel() const {
    return kernel[0] * kernel[1] * kernel[2];
  }
  /// Elements of x (N, C_in, in), y (N, C_out, out), w (C_out, C_in/g, k).
  int64_t x_numel() const {
    return N * C_in * in_numel();
  }
  int64_t y_numel() const {
    return N * C_out * out_numel();
  }
  int64_t w_numel() const {
    return C_out * C_in_g() * kernel_numel();
  }
  /// Multiply-adds of one pass times 2 (the same for all three kernels).
  double flops() const {
    return 2.0 * static_cast<double>(N * C_out * out_numel()) *
           static_cast<double>(C_in_g() * kernel_numel());
  }

  /// benchdnn-style problem string, e.g. "mb2ic4id5ih5iw5oc6kd3kh3kw3sd2pd1".
  /// Fields: g (omitted if 1), mb, ic, id ih iw, oc, od oh ow (omitted when
  /// the conv formula gives them), kd kh kw, then sd sh sw / pd ph pw /
  /// dd dh dw: omitted at the default, one field (sd2) when the three axes
  /// agree. The dilation fields use PyTorch's convention (1 = dense), not
  /// benchdnn's (0 = dense).
  std::string str() const;
};

}  // namespace voxgrad::kernels
