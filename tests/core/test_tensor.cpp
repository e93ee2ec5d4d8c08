// Tensor basics: factories, metadata, views sharing storage, copies,
// in-place writes, dtype conversion, printing and the errors of each.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad {

TEST_CASE("factories give the requested shape, dtype and values") {
  const Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(z.strides() == Strides{3, 1});
  CHECK(z.numel() == 6);
  CHECK(z.is_contiguous());
  CHECK(z.sum().item() == 0.0);
  CHECK(ones({4}, kFloat64).sum().item() == 4.0);
  CHECK(full({2, 2}, 2.5).to_vector<float>() == std::vector<float>(4, 2.5f));
  CHECK(arange(5).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(
      arange(1.0, 2.0, 0.25, kFloat64).to_vector<double>() ==
      std::vector<double>{1.0, 1.25, 1.5, 1.75});
  CHECK(tensor({1.0, 2.0, 3.0}).shape() == Shape{3});
  CHECK(
      tensor({1, 2, 3, 4, 5, 6}, {2, 3}).select(0, 1).to_vector<float>() ==
      std::vector<float>{4, 5, 6});
  const double raw[] = {1, 2, 3, 4};
  CHECK(from_blob(raw, {2, 2}).dtype() == kFloat64);
  CHECK(scalar_tensor(3.0).dim() == 0);
  CHECK(scalar_tensor(3.0).item() == 3.0);
  CHECK(empty({0, 3}).numel() == 0);
}

TEST_CASE("factory errors name the argument and the rule") {
  CHECK_ERROR_CONTAINS(empty({2, -1}), "empty", "-1", "[2, -1]", ">= 0");
  CHECK_ERROR_CONTAINS(
      tensor({1, 2, 3}, {2, 2}), "tensor", "3 values", "[2, 2]");
  CHECK_ERROR_CONTAINS(arange(0.0, 1.0, -0.1), "arange", "step");
  CHECK_ERROR_CONTAINS(zeros({2}).item(), "item", "[2]");
  CHECK_ERROR_CONTAINS(zeros({2}).data<double>(), "float32", "float64");
  CHECK_ERROR_CONTAINS(Tensor().shape(), "undefined");
  CHECK_ERROR_CONTAINS(uniform({2}, 1.0, 0.0), "uniform", "low <= high");
}

TEST_CASE("views share storage, and reshape copies only when it must") {
  const Tensor x = arange(24).reshape({2, 3, 4});
  const Tensor t = x.transpose(1, 2);
  CHECK(t.shape() == Shape{2, 4, 3});
  CHECK(t.strides() == Strides{12, 1, 4});
  CHECK(t.shares_storage_with(x));
  CHECK_FALSE(t.is_contiguous());
  CHECK(x.reshape({6, 4}).shares_storage_with(x));
  CHECK(x.view({4, -1}).shape() == Shape{4, 6});
  CHECK_ERROR_CONTAINS(t.view({24}), "view", "not compatible", "reshape");
  const Tensor r = t.reshape({24});  // must copy
  CHECK_FALSE(r.shares_storage_with(x));
  CHECK(r.to_vector<float>()[1] == 4.0f);
  CHECK(t.contiguous().to_vector<float>() == r.to_vector<float>());
  CHECK_ERROR_CONTAINS(x.reshape({5, -1}), "reshape", "-1", "24");
  CHECK_ERROR_CONTAINS(x.reshape({-1, -1}), "only one");
  CHECK_ERROR_CONTAINS(x.permute({0, 0, 1}), "permute", "repeats");
  CHECK_ERROR_CONTAINS(x.permute({0, 1}), "permute", "2 axes");
  CHECK_ERROR_CONTAINS(x.transpose(0, 3), "axis 3", "out of range");
}

TEST_CASE("slice, select, squeeze, unsqueeze, flatten, expand") {
  const Tensor x = arange(20).reshape({4, 5});
  CHECK(
      x.slice(1, 1, 5, 2).to_vector<float>() ==
      std::vector<float>{1, 3, 6, 8, 11, 13, 16, 18});
  CHECK(x.slice(0, -2, 100).shape() == Shape{2, 5});  // clamped, like Python
  CHECK(x.slice(0, 3, 1).shape() == Shape{0, 5});
  CHECK_ERROR_CONTAINS(x.slice(0, 0, 2, 0), "slice", "step");
  CHECK(x.select(1, -1).to_vector<float>() == std::vector<float>{4, 9, 14, 19});
  CHECK_ERROR_CONTAINS(x.select(0, 4), "select", "index 4");
  CHECK(x.unsqueeze(0).shape() == Shape{1, 4, 5});
  CHECK(x.unsqueeze(-1).shape() == Shape{4, 5, 1});
  CHECK(x.unsqueeze(0).squeeze(0).shape() == Shape{4, 5});
  CHECK(x.squeeze(0).shape() == Shape{4, 5});
  CHECK(arange(24).reshape({2, 3, 4}).flatten(1).shape() == Shape{2, 12});
  const Tensor e = tensor({1, 2, 3}, {3, 1}).expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Strides{0, 1, 0});
  CHECK(e.sum().item() == 48.0);
  CHECK_ERROR_CONTAINS(x.expand({4, 6}), "expand", "[4, 5]", "[4, 6]");
}

TEST_CASE("clone, detach, to, copy_, fill_") {
  const Tensor x = arange(6).reshape({2, 3});
  const Tensor c = x.clone();
  CHECK_FALSE(c.shares_storage_with(x));
  const Tensor d = x.to(kFloat64);
  CHECK(d.dtype() == kFloat64);
  CHECK(d.to_vector<double>() == std::vector<double>{0, 1, 2, 3, 4, 5});
  CHECK(x.to(kFloat32).shares_storage_with(x));
  Tensor y = zeros({2, 3});
  y.copy_(tensor({1.0, 2.0, 3.0}));  // broadcasts
  CHECK(y.sum().item() == 12.0);
  y.slice(1, 0, 1).fill_(-1.0);
  CHECK(y.to_vector<float>() == std::vector<float>{-1, 2, 3, -1, 2, 3});
  CHECK_ERROR_CONTAINS(y.copy_(ones({4})), "copy_", "[4]", "[2, 3]");
  Tensor e = ones({3}).expand({2, 3});
  CHECK_ERROR_CONTAINS(e.fill_(2), "fill_", "expanded");
  // Overlapping copy (shifting within one storage) is staged correctly.
  Tensor s = arange(5).contiguous();
  s.slice(0, 1, 5).copy_(s.slice(0, 0, 4));
  CHECK(s.to_vector<float>() == std::vector<float>{0, 0, 1, 2, 3});
}

TEST_CASE("printing shows dtype, shape and values, elided when large") {
  std::ostringstream small;
  small << tensor({1.0, 2.5, -3.0}, {3}, kFloat64);
  CHECK(
      small.str() ==
      "tensor([ 1.0000,  2.5000, -3.0000], dtype=float64, shape=[3])");
  std::ostringstream big;
  big << zeros({40, 40});
  CHECK(big.str().find("...") != std::string::npos);
  CHECK(big.str().find("shape=[40, 40]") != std::string::npos);
  CHECK(big.str().size() < 1000);
  std::ostringstream g;
  g << (ones({2}).requires_grad_() * 2.0);
  CHECK(g.str().find("grad_fn=mul") != std::string::npos);
}

TEST_CASE("random tensors are reproducible and thread-count independent") {
  manual_seed(123);
  const Tensor a = randn({1000});
  manual_seed(123);
  const Tensor b = test::with_threads(1, [] { return randn({1000}); });
  CHECK(test::bit_equal(a, b));
  Generator g(5);
  const Tensor u = uniform({100000}, -2.0, 3.0, kFloat64, &g);
  CHECK(u.mean().item() == doctest::Approx(0.5).epsilon(0.01));
  CHECK(amax(u).item() < 3.0);
  CHECK(-amax(-u).item() >= -2.0);
  const Tensor n = normal({100000}, 1.0, 2.0, kFloat64, &g);
  CHECK(n.mean().item() == doctest::Approx(1.0).epsilon(0.03));
  CHECK(std::sqrt(var(n).item()) == doctest::Approx(2.0).epsilon(0.01));
  // Two draws differ; the generator's state advances.
  CHECK_FALSE(
      test::bit_equal(rand({10}, kFloat32, &g), rand({10}, kFloat32, &g)));
}

}  // namespace voxgrad
