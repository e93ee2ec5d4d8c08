#pragma once
// NumPy .npy files, through xtensor's xnpy.hpp (no hand-written parser).

#include <string>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// Reads a little-endian float32 or float64 .npy file (C or Fortran order)
/// into a contiguous tensor. Any other dtype, a truncated file or a header
/// that does not match the file size is a voxgrad::Error naming the path.
///   Tensor x = voxgrad::load_npy("x.npy");
Tensor load_npy(const std::string& path);

/// Writes `t` as a C-order .npy file (float32 -> <f4, float64 -> <f8).
void save_npy(const std::string& path, const Tensor& t);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
