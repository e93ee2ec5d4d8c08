#pragma once
// The padding map P of a padding mode on the last three axes and its exact
// adjoint Pᵀ: the kernels behind the pad / pad_adjoint ops and the padding
// modes of Conv3d / ConvTranspose3d. Raw pointers, no autograd.
//
// NOTE [ Padding as a linear map ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Per axis, padded position q holds source element f(q) (see
// voxgrad/core/padding_mode.hpp; f(q) = q - lo inside, and nothing for a
// zeros halo), and the 3-D map is the product of the three axes':
//   (P x)[q] = x[f_d(q_d), f_h(q_h), f_w(q_w)],
// a copy of every voxel into its own position and into the halo positions
// that mirror / repeat / wrap it. Its transpose therefore *adds every halo
// value back onto the voxel it was copied from* and drops the halo:
//   (Pᵀ y)[i] = sum of y[q] over the q with f(q) = i,
// so <P x, y> = <x, Pᵀ y> for every x, y. For zeros padding Pᵀ is a crop.
//
// Both kernels partition their *output* rows across threads. pad3d_adjoint
// sums each element in one fixed order (below), so both are bit-identical
// for any thread count.

#include <array>
#include <cstdint>

#include "voxgrad/core/padding_mode.hpp"

namespace voxgrad::kernels {

using Int3 = std::array<int64_t, 3>;

/// `planes` independent volumes of size `in` (depth, height, width), padded
/// by lo[i] before and hi[i] after the data on axis i.
struct Pad3dGeometry {
  int64_t planes = 0;
  Int3 in{}, lo{}, hi{};
  PaddingMode mode = PaddingMode::Zeros;

  /// in + lo + hi per axis.
  Int3 out() const;
  /// Throws voxgrad::Error naming `op` unless planes >= 0, in >= 0, the
  /// padded sizes fit in int64 and every axis obeys check_padding_fits().
  void validate(const char* op) const;
};

/// y = P x. x (planes, in), y (planes, out), contiguous. Overwrites y.
///   pad3d<float>(g, x.data(), y.data());
template <class T>
void pad3d(const Pad3dGeometry& g, const T* x, T* y);

/// x = Pᵀ y. y (planes, out), x (planes, in), contiguous. Overwrites x.
/// Element i of x is x = y[interior position of i], then + every other
/// y[q] with f(q) = i in increasing (q_d, q_h) and, within a row, its width
/// halo in increasing q_w order.
///   pad3d_adjoint<float>(g, y.data(), x.data());
template <class T>
void pad3d_adjoint(const Pad3dGeometry& g, const T* y, T* x);

/// The halo of a padded tensor (planes, out) cut into six contiguous slabs
/// that, with the interior, partition it (the width halos take whole
/// columns, the height halos what is left of the rows, the depth halos the
/// rest, so a height or depth slab row is one interior-width run):
///   w_lo  (planes, out_d, out_h, lo_w)   w_hi  (planes, out_d, out_h, hi_w)
///   h_lo  (planes, out_d, lo_h, in_w)    h_hi  (planes, out_d, hi_h, in_w)
///   d_lo  (planes, lo_d, in_h, in_w)     d_hi  (planes, hi_d, in_h, in_w)
/// A slab with no elements may be null.
template <class T>
struct PadHalo {
  const T* w_lo = nullptr;
  const T* w_hi = nullptr;
  const T* h_lo = nullptr;
  const T* h_hi = nullptr;
  const T* d_lo = nullptr;
  const T* d_hi = nullptr;
};

/// x += the halo's part of Pᵀ: x (planes, in) already holds the interior
/// of the padded tensor, and each halo value is added to the voxel it was
/// copied from, in the same order as pad3d_adjoint (so the result equals
/// pad3d_adjoint of the assembled padded tensor bit for bit). This lets
/// ConvTranspose3d compute the interior and the halo separately.
template <class T>
void pad3d_adjoint_halo(const Pad3dGeometry& g, const PadHalo<T>& halo, T* x);

}  // namespace voxgrad::kernels
