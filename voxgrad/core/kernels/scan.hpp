#pragma once
// Inclusive prefix sum along one axis (the kernel of cumsum). No autograd.

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

/// out[..., i, ...] = sum_{j <= i} x[..., j, ...] along `axis` (in range).
/// Each line is summed in order, float in double (PyTorch's CPU
/// accumulation type), by one thread: bit-identical for any thread count.
Tensor cumsum(const Tensor& x, int64_t axis);

}  // namespace voxgrad::kernels
