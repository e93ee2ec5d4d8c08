#include "voxgrad/metrics/iou.hpp"

#include <cmath>

#include "voxgrad/core/error.hpp"

namespace voxgrad::metrics {

std::vector<double> iou(
    const Tensor& pred, const Tensor& target, double threshold) {
  VOXGRAD_CHECK(
      pred.shape() == target.shape() && pred.dim() >= 1,
      "iou: pred and target must have the same shape with a batch axis (got ",
      shape_str(pred.shape()), " and ", shape_str(target.shape()), ")");
  VOXGRAD_CHECK(
      std::isfinite(threshold), "iou: threshold must be finite (got ",
      threshold, ")");
  const std::vector<double> p =
      pred.to(kFloat64).contiguous().to_vector<double>();
  const std::vector<double> t =
      target.to(kFloat64).contiguous().to_vector<double>();
  const int64_t n = pred.size(0);
  const int64_t per = n == 0 ? 0 : pred.numel() / n;
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t inter = 0, uni = 0;
    for (int64_t v = i * per; v < (i + 1) * per; ++v) {
      const bool a = p[static_cast<size_t>(v)] > threshold,
                 b = t[static_cast<size_t>(v)] > 0.5;
      inter += a && b;
      uni += a || b;
    }
    out[static_cast<size_t>(i)] =
        uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
  }
  return out;
}

double mean_iou(const Tensor& pred, const Tensor& target, double threshold) {
  const std::vector<double> v = iou(pred, target, threshold);
  VOXGRAD_CHECK(!v.empty(), "mean_iou: the batch is empty");
  double s = 0;
  for (double x : v)
    s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace voxgrad::metrics
