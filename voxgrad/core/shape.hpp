#pragma once
// Shapes and strides: plain vectors of int64, row-major (C order) by default.

#include <cstdint>
#include <string>
#include <vector>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

/// Product of the extents (1 for a 0-d shape).
int64_t numel(const Shape& shape);

/// Row-major strides, in elements, of a contiguous tensor of this shape.
Strides contiguous_strides(const Shape& shape);

/// "[2, 3, 4]": how every message in voxgrad prints a shape.
std::string shape_str(const Shape& shape);

/// Maps a possibly negative axis into [0, ndim); throws naming `op` otherwise.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

/// NumPy broadcasting of two shapes; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// True when `from` broadcasts to `to` (trailing-aligned, 1 or equal).
bool is_broadcastable_to(const Shape& from, const Shape& to);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
