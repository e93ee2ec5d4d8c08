#include "voxgrad/metrics/generation.hpp"

#include <limits>
#include <set>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/metrics/chamfer.hpp"

namespace voxgrad::metrics {
namespace {

using Matrix = std::vector<std::vector<double>>;

std::vector<NearestNeighbors> indices_of(const std::vector<PointSet>& sets) {
  std::vector<NearestNeighbors> out;
  out.reserve(sets.size());
  for (const PointSet& s : sets)
    out.emplace_back(s);
  return out;
}

// Index of the smallest value, lowest index on ties; -1 when `skip` is the
// only index.
int64_t argmin(const std::vector<double>& row, int64_t skip = -1) {
  int64_t best = -1;
  for (size_t j = 0; j < row.size(); ++j)
    if (static_cast<int64_t>(j) != skip &&
        (best < 0 || row[j] < row[static_cast<size_t>(best)]))
      best = static_cast<int64_t>(j);
  return best;
}

}  // namespace

Matrix pairwise_chamfer_l2(
    const std::vector<NearestNeighbors>& a,
    const std::vector<NearestNeighbors>& b) {
  const auto na = static_cast<int64_t>(a.size()),
             nb = static_cast<int64_t>(b.size());
  Matrix cd(
      static_cast<size_t>(na), std::vector<double>(static_cast<size_t>(nb)));
  // Each (i, j) is computed by one task and written to its own slot.
  parallel_for(0, na * nb, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k)
      cd[static_cast<size_t>(k / nb)][static_cast<size_t>(k % nb)] = chamfer_l2(
          a[static_cast<size_t>(k / nb)], b[static_cast<size_t>(k % nb)]);
  });
  return cd;
}

GenerationMetrics generation_metrics(
    const Matrix& gr, const Matrix& gg, const Matrix& rr) {
  const size_t ng = gr.size(), nr = rr.size();
  VOXGRAD_CHECK(
      ng >= 1 && nr >= 1 && gg.size() == ng,
      "generation_metrics: need >= 1 sample and >= 1 reference with "
      "matching matrices (got ",
      ng, " samples, ", nr, " references)");
  for (size_t i = 0; i < ng; ++i)
    VOXGRAD_CHECK(
        gr[i].size() == nr && gg[i].size() == ng,
        "generation_metrics: matrix rows must be full (row ", i, ")");
  for (size_t i = 0; i < nr; ++i)
    VOXGRAD_CHECK(
        rr[i].size() == nr, "generation_metrics: matrix rows must be full");
  GenerationMetrics m;
  // MMD: for each reference, its closest sample.
  for (size_t j = 0; j < nr; ++j) {
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < ng; ++i)
      best = std::min(best, gr[i][j]);
    m.mmd_cd += best;
  }
  m.mmd_cd /= static_cast<double>(nr);
  // COV: the references that are some sample's nearest.
  std::set<int64_t> covered;
  for (size_t i = 0; i < ng; ++i)
    covered.insert(argmin(gr[i]));
  m.cov_cd = static_cast<double>(covered.size()) / static_cast<double>(nr);
  // 1-NNA over the union, samples first: row i of [[gg, gr], [gr^T, rr]].
  const size_t n = ng + nr;
  VOXGRAD_CHECK(n >= 2, "generation_metrics: 1-NNA needs at least 2 shapes");
  int64_t correct = 0;
  std::vector<double> row(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i < ng)
        row[j] = j < ng ? gg[i][j] : gr[i][j - ng];
      else
        row[j] = j < ng ? gr[j][i - ng] : rr[i - ng][j - ng];
    }
    const int64_t nearest = argmin(row, static_cast<int64_t>(i));
    correct += (nearest < static_cast<int64_t>(ng)) == (i < ng) ? 1 : 0;
  }
  m.nna_cd = static_cast<double>(correct) / static_cast<double>(n);
  return m;
}

GenerationMetrics generation_metrics(
    const std::vector<PointSet>& samples, const std::vector<PointSet>& refs) {
  const std::vector<NearestNeighbors> g = indices_of(samples),
                                      r = indices_of(refs);
  return generation_metrics(
      pairwise_chamfer_l2(g, r), pairwise_chamfer_l2(g, g),
      pairwise_chamfer_l2(r, r));
}

}  // namespace voxgrad::metrics
