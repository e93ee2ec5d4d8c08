#pragma once
// The segmentation data of unet3d_seg: scenes of two procedural solids
// (examples/common/shapes) side by side in a res^3 grid, the first in the
// half x < 0 and the second in x > 0, each scaled by 1/2. The input is the
// scene's occupancy; the label of a voxel is the kind of the solid it lies
// in (sphere, box, torus, cylinder, capsule; a union contributes its first
// part), 0 outside both. Scene i of a split is the same on every machine,
// thread count and call order: its solids are shapes 2i and 2i + 1 of
// sample_shape's stream.

#include <cstdint>
#include <vector>

#include "shapes.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

/// Background and the five primitive kinds.
inline constexpr int64_t kSegClasses = 6;

/// "background", "sphere", "box", "torus", "cylinder", "capsule".
const char* seg_class_name(int64_t c);

struct SegBatch {
  Tensor occupancy;  // (N, 1, res, res, res) float32, 0 or 1
  Tensor labels;     // (N, res, res, res) int64 in [0, kSegClasses)
};

/// The scenes `items` of `split` for data-set seed `seed`.
SegBatch make_scenes(
    uint64_t seed, Split split, const std::vector<int64_t>& items, int64_t res);

}  // namespace voxgrad::examples
