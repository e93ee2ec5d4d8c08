#pragma once
// Per-class accuracy and IoU of a per-voxel labelling (the numbers 3-D
// segmentation papers report), and the trivial predictor they must beat.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

struct SegReport {
  /// Per class: voxels of the class in the labels, the share of them
  /// predicted right (accuracy, i.e. recall), and IoU (metrics::iou of the
  /// class's masks over the whole set; -1 for a class absent from both).
  std::vector<int64_t> voxels;
  std::vector<double> accuracy, iou;
  double overall_accuracy = 0;
  /// Mean IoU over the classes present in the labels.
  double mean_iou = 0;
};

/// pred and labels: int64 of one shape, values in [0, classes).
SegReport segmentation_report(
    const Tensor& pred, const Tensor& labels, int64_t classes);

/// "background acc 0.99 IoU 0.98, sphere acc ..."
std::string report_text(const SegReport& r);
nlohmann::ordered_json to_json(const SegReport& r);

}  // namespace voxgrad::examples
