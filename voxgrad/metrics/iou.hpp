#pragma once
// Intersection over union of occupancy grids: the reconstruction metric of
// voxel papers (3D-R2N2, Brock et al., Occupancy Networks' volumetric IoU).

#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::metrics {

/// Per item of two (N, ...) float tensors of the same shape: voxels with
/// pred > threshold and target > 0.5 in both / in either. An item empty in
/// both counts as IoU 1 (perfectly reconstructed nothing).
/// ```cpp
/// std::vector<double> v = metrics::iou(sigmoid(logits), x, 0.5);
/// ```
std::vector<double> iou(
    const Tensor& pred, const Tensor& target, double threshold = 0.5);

/// The mean of iou().
double mean_iou(
    const Tensor& pred, const Tensor& target, double threshold = 0.5);

}  // namespace voxgrad::metrics

VOXGRAD_PUBLIC_END
