#include "segmentation_metrics.hpp"

#include <sstream>

#include "scenes.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/metrics/iou.hpp"

namespace voxgrad::examples {

SegReport segmentation_report(
    const Tensor& pred, const Tensor& labels, int64_t classes) {
  VOXGRAD_CHECK(
      pred.shape() == labels.shape() && pred.dtype() == kInt64 &&
          labels.dtype() == kInt64,
      "segmentation_report: expected int64 pred and labels of one shape, got ",
      shape_str(pred.shape()), " and ", shape_str(labels.shape()));
  const auto p = pred.contiguous().to_vector<int64_t>();
  const auto t = labels.contiguous().to_vector<int64_t>();
  SegReport r;
  r.voxels.assign(static_cast<size_t>(classes), 0);
  std::vector<int64_t> right(static_cast<size_t>(classes), 0),
      predicted = right;
  int64_t correct = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    VOXGRAD_CHECK(
        t[i] >= 0 && t[i] < classes && p[i] >= 0 && p[i] < classes,
        "segmentation_report: label ", t[i], " or prediction ", p[i],
        " is not a class in [0, ", classes, ")");
    ++r.voxels[static_cast<size_t>(t[i])];
    ++predicted[static_cast<size_t>(p[i])];
    if (p[i] == t[i]) {
      ++right[static_cast<size_t>(t[i])];
      ++correct;
    }
  }
  r.overall_accuracy =
      t.empty() ? 0
                : static_cast<double>(correct) / static_cast<double>(t.size());
  int64_t present = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const auto u = static_cast<size_t>(c);
    r.accuracy.push_back(
        r.voxels[u]
            ? static_cast<double>(right[u]) / static_cast<double>(r.voxels[u])
            : 0.0);
    if (r.voxels[u] == 0 && predicted[u] == 0) {
      r.iou.push_back(-1);
      continue;
    }
    // The class's masks as one item each: IoU over the whole set.
    const Tensor pm =
        eq(pred, static_cast<double>(c)).to(kFloat32).reshape({1, -1});
    const Tensor tm =
        eq(labels, static_cast<double>(c)).to(kFloat32).reshape({1, -1});
    r.iou.push_back(metrics::iou(pm, tm, 0.5)[0]);
    if (r.voxels[u] > 0) {
      r.mean_iou += r.iou.back();
      ++present;
    }
  }
  if (present > 0)
    r.mean_iou /= static_cast<double>(present);
  return r;
}

std::string report_text(const SegReport& r) {
  std::ostringstream os;
  os.precision(3);
  for (size_t c = 0; c < r.iou.size(); ++c) {
    os << (c ? ", " : "") << seg_class_name(static_cast<int64_t>(c));
    if (r.voxels[c] == 0) {
      os << " absent";
      continue;
    }
    os << " acc " << r.accuracy[c] << " IoU " << r.iou[c];
  }
  return os.str();
}

nlohmann::ordered_json to_json(const SegReport& r) {
  nlohmann::ordered_json classes = nlohmann::ordered_json::object();
  for (size_t c = 0; c < r.iou.size(); ++c) {
    classes[seg_class_name(static_cast<int64_t>(c))] = {
        {"voxels", r.voxels[c]},
        {"accuracy", r.accuracy[c]},
        {"iou", r.iou[c]}};
  }
  return {
      {"mean_iou", r.mean_iou},
      {"accuracy", r.overall_accuracy},
      {"classes", classes}};
}

}  // namespace voxgrad::examples
