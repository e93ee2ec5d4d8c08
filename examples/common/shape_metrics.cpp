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
  const auto n0 = static_cast<double>(r.shapes);
  double iou = 0, l1 = 0, l2 = 0, f = 0;
  for (size_t i = 0; i < ious.size(); ++i) {
    const metrics::SurfaceMetrics m = metrics::surface_metrics(p[i], t[i], tau);
    iou += ious[i];
    l1 += m.chamfer_l1;
    l2 += m.chamfer_l2;
    f += m.fscore;
  }
  const auto n = static_cast<double>(ious.size());
  auto mix = [&](double old, double sum) {
    return (old * n0 + sum) / (n0 + n);
  };
  r.iou = mix(r.iou, iou);
  r.chamfer_l1 = mix(r.chamfer_l1, l1);
  r.chamfer_l2 = mix(r.chamfer_l2, l2);
  r.fscore = mix(r.fscore, f);
  r.shapes += static_cast<int64_t>(ious.size());
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
      {"shapes", r.shapes}};
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
      "IoU %.4f  CD-L1 %.5f  CD-L2 %.6f  F@1vox %.4f (%lld shapes)", r.iou,
      r.chamfer_l1, r.chamfer_l2, r.fscore, static_cast<long long>(r.shapes));
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
