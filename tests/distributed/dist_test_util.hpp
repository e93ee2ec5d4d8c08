#pragma once
// Shared by the distributed test cases: the job's communicator, a small
// conv model, a fixed data set and the reference single-process training
// they are compared with.

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <vector>

#include "test_util.hpp"
#include "voxgrad/nn/distributed/distributed.hpp"

namespace voxgrad::test {

/// The world communicator of the test run (main.cpp).
distributed::Communicator& comm();

/// Inputs (n, 1, 6, 6, 6) and targets (n, 3) drawn from `seed`.
struct ToyData {
  Tensor x, y;
  ToyData(int64_t n, Dtype dtype, uint64_t seed) {
    Generator g(seed);
    x = randn({n, 1, 6, 6, 6}, dtype, &g);
    y = randn({n, 3}, dtype, &g);
  }
  /// Rows `rows` of x and y.
  std::pair<Tensor, Tensor> rows(const std::vector<int64_t>& rows) const {
    std::vector<Tensor> xs, ys;
    for (int64_t r : rows) {
      xs.push_back(x.slice(0, r, r + 1));
      ys.push_back(y.slice(0, r, r + 1));
    }
    return {cat(xs, 0), cat(ys, 0)};
  }
};

/// Conv3d -> [norm] -> LeakyReLU -> Flatten -> Linear, initialised from
/// `seed`. `norm` makes the normalisation layer (or null for none).
inline std::shared_ptr<nn::SequentialImpl> toy_model(
    uint64_t seed,
    Dtype dtype,
    const std::function<nn::AnyModule()>& norm = nullptr) {
  manual_seed(seed);
  auto m = std::make_shared<nn::SequentialImpl>();
  // No conv bias before a norm layer (as usual): the norm removes it, so
  // its gradient would be pure rounding noise, which Adam's division by
  // sqrt(v) + eps scales up to ~1e-10 differences between runs.
  m->push_back(std::make_shared<nn::Conv3dImpl>(
      nn::Conv3dOptions(1, 4, 3).stride(2).padding(1).bias(norm == nullptr)));
  if (norm)
    m->push_back(norm());
  m->push_back(std::make_shared<nn::LeakyReLUImpl>(
      nn::LeakyReLUOptions().negative_slope(0.2)));
  m->push_back(std::make_shared<nn::FlattenImpl>());
  m->push_back(std::make_shared<nn::LinearImpl>(4 * 27, 3));
  m->to(dtype);
  return m;
}

/// Max |a - b| over every parameter and buffer of two models.
inline double max_state_diff(const nn::Module& a, const nn::Module& b) {
  const nn::NamedTensors sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  double m = 0;
  for (size_t i = 0; i < sa.size(); ++i)
    m = std::max(m, max_abs_diff(sa[i].second, sb[i].second));
  return m;
}

/// The same on every rank (for CHECKs that every rank makes).
inline double max_over_ranks(double v) {
  const int w = comm().size();
  std::vector<double> all(static_cast<size_t>(w), 0.0);
  all[static_cast<size_t>(comm().rank())] = v;
  comm().all_reduce_sum(all);
  double m = 0;
  for (double x : all)
    m = std::max(m, x);
  return m;
}

}  // namespace voxgrad::test
