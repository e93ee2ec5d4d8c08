// The voxgrad::metrics code of README.md and of voxgrad/metrics' header
// comments, verbatim (ctest docs_snippets_in_sync checks that), run here on
// small sets of boxes. Edit a block and its copy together.
#include <doctest/doctest.h>

#include <vector>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/metrics/generation.hpp"
#include "voxgrad/metrics/iou.hpp"
#include "voxgrad/metrics/point_set.hpp"

namespace voxgrad::metrics {
namespace {

// README.md, "Real data and the metrics of 3-D papers".
GenerationMetrics readme_metrics_block(
    const Tensor& samples, const Tensor& references) {
  // the block as README.md shows it (not clang-formatted):
  // clang-format off
  // #include <voxgrad/metrics/generation.hpp>, link voxgrad::metrics
  auto m = voxgrad::metrics::generation_metrics(
      voxgrad::metrics::surface_points(samples, 2048, 0.5, 1),
      voxgrad::metrics::surface_points(references, 2048, 0.5, 2));  // m.mmd_cd, m.cov_cd, m.nna_cd
  // clang-format on
  return m;
}

// voxgrad/metrics/generation.hpp
GenerationMetrics generation_hpp(const Tensor& samples, const Tensor& refs) {
  auto m = generation_metrics(
      surface_points(samples, 2048, 0.5, 1),
      surface_points(refs, 2048, 0.5, 2));
  return m;
}

// voxgrad/metrics/iou.hpp
std::vector<double> iou_hpp(const Tensor& logits, const Tensor& x) {
  std::vector<double> v = metrics::iou(sigmoid(logits), x, 0.5);
  return v;
}

// voxgrad/metrics/point_set.hpp
double point_set_hpp(const PointSet& b, const Point& p) {
  // clang-format off
  NearestNeighbors nn(b);  double d2 = nn.squared_distance(p);
  // clang-format on
  return d2;
}

// (n, 1, 8, 8, 8) grids, each a solid box whose side grows with its index.
Tensor boxes(int64_t n, int64_t first_side) {
  Tensor t = zeros({n, 1, 8, 8, 8});
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t side = first_side + i;
    for (int64_t z = 0; z < side; ++z)
      for (int64_t y = 0; y < side; ++y)
        for (int64_t x = 0; x < side; ++x)
          p[((i * 8 + z) * 8 + y) * 8 + x] = 1;
  }
  return t;
}

}  // namespace

TEST_CASE("doc snippets: the generation metrics of two sets of boxes") {
  const auto same = readme_metrics_block(boxes(2, 3), boxes(2, 3));
  const auto other = readme_metrics_block(boxes(2, 3), boxes(2, 6));
  // Identical sets cover every reference; distant ones are farther apart.
  CHECK(same.cov_cd == 1.0);
  CHECK(other.mmd_cd > same.mmd_cd);
  const auto again = generation_hpp(boxes(2, 3), boxes(2, 6));
  CHECK(again.mmd_cd == other.mmd_cd);
}

TEST_CASE("doc snippets: IoU and nearest neighbours") {
  const Tensor x = boxes(1, 4);
  // Logits of +-10 where x is 1 / 0: the prediction is x itself.
  const std::vector<double> v = iou_hpp(x * 20.0 - 10.0, x);
  REQUIRE(v.size() == 1);
  CHECK(v[0] == 1.0);
  CHECK(point_set_hpp({{0, 0, 0}, {1, 0, 0}}, {1, 2, 0}) == 4.0);
}

}  // namespace voxgrad::metrics
