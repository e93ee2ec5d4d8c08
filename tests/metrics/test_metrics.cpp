// voxgrad::metrics against tools/gen_metrics_reference.py (brute force in
// NumPy, float64) and against brute force here: IoU, Chamfer-L1/L2,
// F-score, MMD-CD, COV-CD, 1-NNA, and the surface sampler's geometry.

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/metrics/chamfer.hpp"
#include "voxgrad/metrics/generation.hpp"
#include "voxgrad/metrics/iou.hpp"
#include "voxgrad/metrics/point_set.hpp"

using namespace voxgrad;
using namespace voxgrad::metrics;

namespace {

const nlohmann::json& reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(
        std::string(VOXGRAD_SOURCE_DIR) + "/tests/metrics/reference.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

std::vector<PointSet> reference_points() {
  std::vector<PointSet> out;
  for (const auto& s : reference()["points"]) {
    PointSet p;
    for (const auto& q : s)
      p.push_back({q[0].get<float>(), q[1].get<float>(), q[2].get<float>()});
    out.push_back(p);
  }
  return out;
}

// (N, 1, D, H, W) float32 from nested [z][y][x] lists.
Tensor grids(const char* key) {
  std::vector<float> v;
  int64_t n = 0, d = 0, h = 0, w = 0;
  for (const auto& g : reference()[key]) {
    ++n;
    d = static_cast<int64_t>(g.size());
    h = static_cast<int64_t>(g[0].size());
    w = static_cast<int64_t>(g[0][0].size());
    for (const auto& plane : g)
      for (const auto& row : plane)
        for (const auto& x : row)
          v.push_back(x.get<float>());
  }
  return from_blob(v.data(), {n, 1, d, h, w});
}

bool close(double got, double want) {
  return std::abs(got - want) <= 1e-6 + 1e-5 * std::abs(want);
}

}  // namespace

TEST_CASE("iou matches NumPy, threshold and empty items included") {
  const Tensor target = grids("grids_zyx"), probs = grids("probs_zyx");
  const double t = reference()["iou_threshold"];
  const std::vector<double> got = iou(probs, target, t);
  const auto want = reference()["iou"];
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(close(got[i], want[i].get<double>()));
  CHECK(
      iou(zeros({2, 3, 3}), zeros({2, 3, 3})) == std::vector<double>{1.0, 1.0});
  CHECK(mean_iou(target, target) == 1.0);
  CHECK_THROWS_WITH_AS(
      iou(zeros({2, 3}), zeros({2, 4})), doctest::Contains("same shape"),
      Error);
}

TEST_CASE("chamfer and F-score match NumPy's brute force on every pair") {
  const std::vector<PointSet> pts = reference_points();
  const double tau = reference()["tau"];
  for (const auto& p : reference()["pairs"]) {
    const SurfaceMetrics m = surface_metrics(pts[p["a"]], pts[p["b"]], tau);
    CAPTURE(p["a"].get<int>());
    CAPTURE(p["b"].get<int>());
    CHECK(close(m.chamfer_l1, p["chamfer_l1"]));
    CHECK(close(m.chamfer_l2, p["chamfer_l2"]));
    CHECK(close(m.precision, p["precision"]));
    CHECK(close(m.recall, p["recall"]));
    CHECK(close(m.fscore, p["fscore"]));
  }
}

TEST_CASE("MMD-CD, COV-CD and 1-NNA match NumPy") {
  const std::vector<PointSet> pts = reference_points();
  std::vector<PointSet> samples, refs;
  for (const auto& i : reference()["samples"])
    samples.push_back(pts[i.get<size_t>()]);
  for (const auto& i : reference()["references"])
    refs.push_back(pts[i.get<size_t>()]);
  const GenerationMetrics m = generation_metrics(samples, refs);
  const auto& want = reference()["generation"];
  CHECK(close(m.mmd_cd, want["mmd_cd"]));
  CHECK(close(m.cov_cd, want["cov_cd"]));
  CHECK(close(m.nna_cd, want["nna_cd"]));
  // Identical sets: MMD 0, full coverage, and every shape's nearest
  // neighbour is its twin in the other set (distance 0), so the 1-NN
  // classifier is always wrong: 1-NNA 0.
  const GenerationMetrics same = generation_metrics(refs, refs);
  CHECK(same.mmd_cd == 0);
  CHECK(same.cov_cd == 1);
  CHECK(same.nna_cd == 0);
}

TEST_CASE("chamfer against brute force on sampled surfaces, 1 and 2 threads") {
  // Two boxes of different sizes on 12^3 grids, 500 points each.
  auto box = [](int64_t lo, int64_t hi) {
    std::vector<float> v(12 * 12 * 12, 0.0f);
    for (int64_t z = lo; z < hi; ++z)
      for (int64_t y = lo; y < hi; ++y)
        for (int64_t x = lo; x < hi; ++x)
          v[static_cast<size_t>((z * 12 + y) * 12 + x)] = 1;
    return v;
  };
  const auto a = box(2, 9), b = box(3, 11);
  const PointSet pa = surface_points(a.data(), 12, 12, 12, 500, 0.5, 1);
  const PointSet pb = surface_points(b.data(), 12, 12, 12, 500, 0.5, 2);
  double s1 = 0, s2 = 0;
  for (const PointSet* from : {&pa, &pb}) {
    const PointSet& to = from == &pa ? pb : pa;
    double acc1 = 0, acc2 = 0;
    for (const Point& p : *from) {
      double best = std::numeric_limits<double>::infinity();
      for (const Point& q : to) {
        double d = 0;
        for (int k = 0; k < 3; ++k)
          d += (static_cast<double>(p[k]) - q[k]) *
               (static_cast<double>(p[k]) - q[k]);
        best = std::min(best, d);
      }
      acc1 += std::sqrt(best);
      acc2 += best;
    }
    s1 += acc1 / 500;
    s2 += acc2 / 500;
  }
  const SurfaceMetrics m = surface_metrics(pa, pb, 0.02);
  CHECK(close(m.chamfer_l1, s1 / 2));
  CHECK(close(m.chamfer_l2, s2));
  const int before = num_threads();
  set_num_threads(1);
  const auto one = generation_metrics({pa, pb}, {pb, pa, pa});
  set_num_threads(2);
  const auto two = generation_metrics({pa, pb}, {pb, pa, pa});
  set_num_threads(before);
  CHECK(one.mmd_cd == two.mmd_cd);
  CHECK(one.nna_cd == two.nna_cd);
}

TEST_CASE("surface_points lie on boundary faces and reach every one") {
  const Tensor g = grids("grids_zyx");
  const int64_t d = g.size(2), h = g.size(3), w = g.size(4);
  const std::vector<float> v = g.contiguous().to_vector<float>();
  for (int64_t i = 0; i < g.size(0); ++i) {
    const float* vol = v.data() + i * d * h * w;
    auto occ = [&](int64_t x, int64_t y, int64_t z) {
      return x >= 0 && y >= 0 && z >= 0 && x < w && y < h && z < d &&
             vol[(z * h + y) * w + x] > 0.5f;
    };
    const PointSet p = surface_points(vol, d, h, w, 20000, 0.5, 7);
    const int64_t want_faces =
        reference()["boundary_faces"][static_cast<size_t>(i)];
    if (want_faces == 0) {
      CHECK(p.empty());
      continue;
    }
    REQUIRE(p.size() == 20000);
    // Back to voxel units: the point is on a face plane (one coordinate an
    // integer) between an occupied and an empty voxel.
    const double side = static_cast<double>(std::max({d, h, w}));
    std::set<std::tuple<int64_t, int64_t, int64_t, int>> faces;
    for (const Point& q : p) {
      const double c[3] = {
          (q[0] + 0.5 * static_cast<double>(w) / side) * side,
          (q[1] + 0.5 * static_cast<double>(h) / side) * side,
          (q[2] + 0.5 * static_cast<double>(d) / side) * side};
      // The face's normal axis is one whose coordinate is an integer (on
      // an edge, two are; then either face may be the one sampled).
      bool on_face = false;
      for (int axis = 0; axis < 3 && !on_face; ++axis) {
        if (std::abs(c[axis] - std::round(c[axis])) > 1e-4)
          continue;
        int64_t lo[3], hi[3];
        for (int k = 0; k < 3; ++k)
          lo[k] = hi[k] = static_cast<int64_t>(std::floor(c[k]));
        lo[axis] = static_cast<int64_t>(std::round(c[axis])) - 1;
        hi[axis] = lo[axis] + 1;
        if (occ(lo[0], lo[1], lo[2]) != occ(hi[0], hi[1], hi[2])) {
          on_face = true;
          faces.insert({lo[0], lo[1], lo[2], axis});
        }
      }
      REQUIRE(on_face);
    }
    CHECK(static_cast<int64_t>(faces.size()) == want_faces);
  }
  // A pure function of its inputs; an empty volume has no points.
  const Tensor batch = g.slice(0, 0, 2);
  CHECK(
      surface_points(batch, 64, 0.5, 3)[1] ==
      surface_points(batch, 64, 0.5, 3)[1]);
  CHECK(surface_points(zeros({1, 1, 4, 4, 4}), 10, 0.5, 0)[0].empty());
}

TEST_CASE("metrics with empty sets and bad arguments") {
  const PointSet one{{0, 0, 0}};
  const SurfaceMetrics e = surface_metrics(PointSet{}, one, 0.1);
  CHECK(std::isinf(e.chamfer_l2));
  CHECK(e.fscore == 0);
  CHECK(surface_metrics(PointSet{}, PointSet{}, 0.1).chamfer_l1 == 0);
  CHECK_THROWS_WITH_AS(
      surface_metrics(one, one, 0), doctest::Contains("tau"), Error);
  CHECK_THROWS_WITH_AS(
      NearestNeighbors(PointSet{{0, std::nanf(""), 0}}),
      doctest::Contains("not finite"), Error);
  CHECK_THROWS_AS(generation_metrics(std::vector<PointSet>{}, {one}), Error);
  // An empty sample covers nothing and is infinitely far.
  const auto m = generation_metrics(std::vector<PointSet>{{}}, {one, one});
  CHECK(std::isinf(m.mmd_cd));
  CHECK_THROWS_AS(surface_points(zeros({2, 4, 4}), 3, 0.5, 0), Error);
}
