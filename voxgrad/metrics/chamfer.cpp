#include "voxgrad/metrics/chamfer.hpp"

#include <cmath>
#include <limits>

#include "voxgrad/core/error.hpp"

namespace voxgrad::metrics {
namespace {

// Mean distance, mean squared distance and the share within tau, from
// every point of `from` to its nearest point of `to`.
struct OneWay {
  double mean = 0, mean_sq = 0, within = 0;
};

OneWay one_way(
    const NearestNeighbors& from, const NearestNeighbors& to, double tau) {
  const PointSet& pts = from.points();
  OneWay r;
  if (pts.empty())
    return r;
  if (to.points().empty()) {
    r.mean = r.mean_sq = std::numeric_limits<double>::infinity();
    return r;
  }
  const double tau2 = tau * tau;
  for (const Point& p : pts) {
    const double d2 = to.squared_distance(p);
    r.mean += std::sqrt(d2);
    r.mean_sq += d2;
    r.within += d2 <= tau2 ? 1 : 0;
  }
  const auto n = static_cast<double>(pts.size());
  r.mean /= n;
  r.mean_sq /= n;
  r.within /= n;
  return r;
}

}  // namespace

SurfaceMetrics surface_metrics(
    const NearestNeighbors& pred, const NearestNeighbors& target, double tau) {
  VOXGRAD_CHECK(
      tau > 0 && std::isfinite(tau), "surface_metrics: tau must be > 0 (got ",
      tau, ")");
  SurfaceMetrics m;
  const bool pe = pred.points().empty(), te = target.points().empty();
  if (pe || te) {
    const double v = pe && te ? 0 : std::numeric_limits<double>::infinity();
    m.chamfer_l1 = m.chamfer_l2 = v;
    m.precision = m.recall = m.fscore = pe && te ? 1 : 0;
    return m;
  }
  const OneWay acc = one_way(pred, target, tau);   // accuracy, precision
  const OneWay comp = one_way(target, pred, tau);  // completeness, recall
  m.chamfer_l1 = (acc.mean + comp.mean) / 2;
  m.chamfer_l2 = acc.mean_sq + comp.mean_sq;
  m.precision = acc.within;
  m.recall = comp.within;
  m.fscore = m.precision + m.recall > 0
                 ? 2 * m.precision * m.recall / (m.precision + m.recall)
                 : 0;
  return m;
}

SurfaceMetrics surface_metrics(
    const PointSet& pred, const PointSet& target, double tau) {
  return surface_metrics(NearestNeighbors(pred), NearestNeighbors(target), tau);
}

double chamfer_l2(const NearestNeighbors& a, const NearestNeighbors& b) {
  const bool ae = a.points().empty(), be = b.points().empty();
  if (ae || be)
    return ae && be ? 0 : std::numeric_limits<double>::infinity();
  return one_way(a, b, 1).mean_sq + one_way(b, a, 1).mean_sq;
}

}  // namespace voxgrad::metrics
