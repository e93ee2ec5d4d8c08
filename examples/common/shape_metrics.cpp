#include "shape_metrics.hpp"

#include <cstdio>

#include "voxgrad/core/error.hpp"
#include "voxgrad/metrics/chamfer.hpp"
#include "voxgrad/metrics/generation.hpp"
#include "voxgrad/metrics/iou.hpp"
#include "voxgrad/metrics/point_set.hpp"

namespace voxgrad::examples {

void add_reconstructions(
    ReconstructionReport& r,
    const Tensor& pred,
    const Tensor& target,
    const MetricSettings& s) {
  VOXGRAD_CHECK(
      pred.dim() == 5 && pred.shape() == target.shape(),
      "add_reconstructions: expected two (N, 1, R, R, R) batches, got ",
      shape_str(pred.shape()), " and ", shape_str(target.shape()));
  const std::vector<double> ious = metrics::iou(pred, target, 0.5);
  const auto p = metrics::surface_points(pred, s.points, 0.5, s.seed);
  const auto t = metrics::surface_points(target, s.points, 0.5, s.seed + 7919);
  const double tau = 1.0 / static_cast<double>(pred.size(2));
  double iou = 0, l1 = 0, l2 = 0, f = 0;
  int64_t empty = 0;
  for (size_t i = 0; i < ious.size(); ++i) {
    const metrics::SurfaceMetrics m = metrics::surface_metrics(p[i], t[i], tau);
    iou += ious[i];
    f += m.fscore;
    if (p[i].empty() && !t[i].empty()) {
      ++empty;
      continue;
    }
    l1 += m.chamfer_l1;
    l2 += m.chamfer_l2;
  }
  const auto n0 = static_cast<double>(r.shapes),
             n = static_cast<double>(ious.size());
  const auto s0 = static_cast<double>(r.shapes - r.empty),
             s1 =
                 static_cast<double>(static_cast<int64_t>(ious.size()) - empty);
  auto mix = [](double old, double w0, double sum, double w) {
    return w0 + w > 0 ? (old * w0 + sum) / (w0 + w) : 0.0;
  };
  r.iou = mix(r.iou, n0, iou, n);
  r.fscore = mix(r.fscore, n0, f, n);
  r.chamfer_l1 = mix(r.chamfer_l1, s0, l1, s1);
  r.chamfer_l2 = mix(r.chamfer_l2, s0, l2, s1);
  r.shapes += static_cast<int64_t>(ious.size());
  r.empty += empty;
}

GenerationReport generation_report(
    const Tensor& samples, const Tensor& refs, const MetricSettings& s) {
  const auto g = metrics::surface_points(samples, s.points, 0.5, s.seed);
  const auto r = metrics::surface_points(refs, s.points, 0.5, s.seed + 104729);
  const metrics::GenerationMetrics m = metrics::generation_metrics(g, r);
  return {m.mmd_cd, m.cov_cd, m.nna_cd, samples.size(0), refs.size(0)};
}

nlohmann::ordered_json to_json(const ReconstructionReport& r) {
  return {
      {"iou", r.iou},
      {"chamfer_l1", r.chamfer_l1},
      {"chamfer_l2", r.chamfer_l2},
      {"fscore_1voxel", r.fscore},
      {"shapes", r.shapes},
      {"empty_reconstructions", r.empty}};
}

nlohmann::ordered_json to_json(const GenerationReport& g) {
  return {
      {"mmd_cd", g.mmd_cd},
      {"cov_cd", g.cov_cd},
      {"nna_cd", g.nna_cd},
      {"samples", g.samples},
      {"references", g.references}};
}

std::string text(const ReconstructionReport& r) {
  char buf[200];
  std::snprintf(
      buf, sizeof buf,
      "IoU %.4f  CD-L1 %.5f  CD-L2 %.6f  F@1vox %.4f (%lld shapes, %lld "
      "reconstructed empty)",
      r.iou, r.chamfer_l1, r.chamfer_l2, r.fscore,
      static_cast<long long>(r.shapes), static_cast<long long>(r.empty));
  return buf;
}

std::string text(const GenerationReport& g) {
  char buf[200];
  std::snprintf(
      buf, sizeof buf,
      "MMD-CD %.6f  COV-CD %.3f  1-NNA %.3f (%lld samples, %lld references)",
      g.mmd_cd, g.cov_cd, g.nna_cd, static_cast<long long>(g.samples),
      static_cast<long long>(g.references));
  return buf;
}

}  // namespace voxgrad::examples
