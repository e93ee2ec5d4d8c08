// nn::utils::clip_grad_norm_ and clip_grad_value_ (torch.nn.utils semantics).

#include <cmath>

#include "test_util.hpp"
#include "voxgrad/optim/clip_grad.hpp"  // the old path still compiles

namespace voxgrad::nn::utils {
namespace {

Tensor with_grad(std::vector<double> g, Dtype dt = kFloat32) {
  const auto n = static_cast<int64_t>(g.size());
  Tensor p = zeros({n}, dt);
  p.requires_grad_();
  p.set_grad(tensor(g, {n}, dt));
  return p;
}

}  // namespace

TEST_CASE("clip_grad_norm_ scales all gradients by one factor") {
  Tensor a = with_grad({3.0, 0.0}), b = with_grad({4.0}, kFloat64);
  Tensor none = zeros({2});
  const double norm = clip_grad_norm_({a, none, b}, 1.0);
  CHECK(norm == 5.0);
  const double coef = 1.0 / (5.0 + 1e-6);
  CHECK(a.grad().to_vector<double>()[0] == doctest::Approx(3 * coef));
  CHECK(b.grad().item() == doctest::Approx(4 * coef).epsilon(1e-15));
  CHECK_FALSE(none.grad().defined());
}

TEST_CASE("clip_grad_norm_ leaves gradients under max_norm alone") {
  Tensor a = with_grad({0.3, -0.4});
  CHECK(clip_grad_norm_({a}, 1.0) == doctest::Approx(0.5));
  CHECK(a.grad().to_vector<float>() == std::vector<float>{0.3f, -0.4f});
  CHECK(clip_grad_norm_({zeros({1})}, 1.0) == 0.0);  // no grads at all
}

TEST_CASE("clip_grad_norm_ supports p-norms and the max-norm") {
  Tensor a = with_grad({1.0, -2.0}), b = with_grad({-3.0});
  CHECK(clip_grad_norm_({a, b}, 100, 1.0) == 6.0);
  CHECK(clip_grad_norm_({a, b}, 100, kInfNorm) == 3.0);
  CHECK(
      clip_grad_norm_({a, b}, 100, 3.0) ==
      doctest::Approx(std::cbrt(1 + 8 + 27)));
  clip_grad_norm_({a, b}, 1.5, kInfNorm);
  CHECK(b.grad().item() == doctest::Approx(-1.5).epsilon(1e-6));
  CHECK_ERROR_CONTAINS(clip_grad_norm_({a}, 1.0, 0.0), "norm_type", "> 0");
  CHECK_ERROR_CONTAINS(clip_grad_norm_({a}, -1.0), "max_norm", "-1");
}

TEST_CASE("clip_grad_norm_ with a non-finite norm errors only when asked") {
  Tensor a = with_grad({1.0, INFINITY});
  CHECK_ERROR_CONTAINS(
      clip_grad_norm_({a}, 1.0, 2.0, true), "non-finite", "error_if_nonfinite");
  CHECK(a.grad().to_vector<float>()[0] == 1.0f);  // unchanged
  CHECK(std::isinf(clip_grad_norm_({a}, 1.0)));
  CHECK(a.grad().to_vector<float>()[0] == 0.0f);  // scaled by 1/inf, as torch
  Tensor n = with_grad({1.0, NAN});
  CHECK(std::isnan(clip_grad_norm_({n}, 1.0)));
  CHECK(std::isnan(n.grad().to_vector<float>()[0]));  // NaN factor, as torch
}

TEST_CASE("clip_grad_value_ clamps each element") {
  Tensor a = with_grad({-3.0, 0.5, 2.0, NAN});
  clip_grad_value_({a}, 1.0);
  const auto g = a.grad().to_vector<float>();
  CHECK(g[0] == -1.0f);
  CHECK(g[1] == 0.5f);
  CHECK(g[2] == 1.0f);
  CHECK(std::isnan(g[3]));
  CHECK_ERROR_CONTAINS(clip_grad_value_({a}, -0.5), "clip_value", "-0.5");
}

TEST_CASE("clip_grad_norm_: the old optim:: spelling is the same function") {
  CHECK((&optim::clip_grad_norm_ == &clip_grad_norm_));
  CHECK((&optim::clip_grad_value_ == &clip_grad_value_));
  CHECK(optim::kInfNorm == kInfNorm);
}

}  // namespace voxgrad::nn::utils
