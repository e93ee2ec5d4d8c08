#pragma once
// Sum and max over a set of axes, for any strides. The reduction is split
// into fixed-size blocks combined in a fixed order, so results are
// bit-identical for any thread count. float sums accumulate in double.

#include <vector>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

enum class ReduceOp { Sum, Max };

/// Reduces `x` over `axes` (unique, non-negative, < x.dim()). The result keeps
/// the reduced axes with extent 1. Max over zero elements is the caller's
/// error to report; Sum over zero elements is 0.
Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes);

}  // namespace voxgrad::kernels
