#pragma once
// Kernels for int64 tensors (indices and labels): conversions to and from
// int64, fills and comparisons. Like the other kernels they know nothing of
// autograd; callers check shapes. See NOTE [ How int64 enters the kernels ]
// in voxgrad/core/dtype.hpp for why the float kernels never see int64.

#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

/// dst[...] = src broadcast to dst's shape, where src or dst (or both) is
/// int64. Floating-point values convert to int64 by truncation toward zero
/// (PyTorch's rule); a NaN, an infinity or a value outside int64 has no
/// int64 value and throws, naming `op`, the value and its flat index (the
/// first such element in row-major order), before anything is written.
void copy_int64(const Tensor& src, const Tensor& dst, const char* op);

/// Sets every element of the int64 tensor `dst` to `value`.
void fill_int64(const Tensor& dst, int64_t value);

/// Eq/Ne/Lt/Le/Gt/Ge of two int64 tensors, broadcast: an int64 tensor of
/// 0/1. Arithmetic ops are not defined on int64 (the caller refuses them).
Tensor compare_int64(BinaryOp op, const Tensor& a, const Tensor& b);

}  // namespace voxgrad::kernels
