#pragma once
// Whether a tensor's elements share memory (PyTorch's has_internal_overlap):
// such a tensor cannot be written element by element, so every writer (load,
// an optimizer step) asks before it changes anything.

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// The first axis on which `t` has stride 0 and more than one element (as
/// expand() makes), or -1 when no two elements share memory.
/// ```cpp
/// int64_t axis = internal_overlap_axis(ones({1, 3}).expand({4, 3}));  // 0
/// ```
int64_t internal_overlap_axis(const Tensor& t);

/// "" when `t` can be written in place, else why not ("an expanded view
/// (stride 0 on axis 0 of [4, 3]): its elements share memory").
std::string write_problem(const Tensor& t);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
