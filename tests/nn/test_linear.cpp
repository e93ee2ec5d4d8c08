// nn::Linear and functional::linear: shapes, PyTorch's init bounds, names,
// gradients, printing and errors. PyTorch parity is in test_nn_golden.cpp.

#include <cmath>
#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("Linear: weight (out, in), bias (out), PyTorch's init bounds") {
  manual_seed(0);
  Linear fc(LinearOptions(27, 64));
  CHECK(fc->weight().shape() == Shape{64, 27});
  CHECK(fc->bias().shape() == Shape{64});
  CHECK(fc->named_parameters().at(0).first == "weight");
  CHECK(fc->named_parameters().at(1).first == "bias");
  const double bound = 1.0 / std::sqrt(27.0);
  for (const Tensor& p : {fc->weight(), fc->bias()}) {
    CHECK(amax(abs(p)).item() <= bound);
    CHECK(amax(abs(p)).item() > 0.8 * bound);
  }
  Linear nb(LinearOptions(4, 8).bias(false));
  CHECK_FALSE(nb->bias().defined());
  CHECK(nb->parameters().size() == 1);
  Generator g1(5), g2(5);
  nb->reset_parameters(&g1);
  const Tensor w1 = nb->weight().clone();
  nb->reset_parameters(&g2);
  CHECK(test::bit_equal(nb->weight(), w1));
}

TEST_CASE("Linear: any leading axes, 1-d input, matches x W^T + b") {
  Generator gen(31);
  Linear fc(4, 3);
  fc->to(kFloat64);
  const Tensor x = randn({2, 5, 4}, kFloat64, &gen);
  const Tensor y = fc(x);
  CHECK(y.shape() == Shape{2, 5, 3});
  const Tensor expect = matmul(x, fc->weight().transpose(0, 1)) + fc->bias();
  CHECK(test::allclose(y, expect, 1e-14, 1e-14));
  CHECK(fc(randn({4}, kFloat64, &gen)).shape() == Shape{3});
  CHECK(fc(zeros({0, 4}, kFloat64)).shape() == Shape{0, 3});
}

TEST_CASE("Linear: float64 gradcheck of input, weight and bias") {
  Generator gen(32);
  const Tensor x = randn({2, 3, 4}, kFloat64, &gen).requires_grad_();
  const Tensor w = randn({5, 4}, kFloat64, &gen).requires_grad_();
  const Tensor b = randn({5}, kFloat64, &gen).requires_grad_();
  auto fn = [](const TensorList& in) {
    return functional::linear(in[0], in[1], in[2]);
  };
  CHECK(gradcheck(fn, {x, w, b}));
  CHECK(gradgradcheck(fn, {x, w, b}));
}

TEST_CASE("Linear: printing and errors") {
  std::ostringstream os;
  os << Linear(LinearOptions(4, 8));
  CHECK(
      os.str() ==
      "Linear(in_features=4, out_features=8, bias=true; weight [8, 4], bias "
      "[8])  # 40 parameters");
  Linear fc(4, 8);
  CHECK_ERROR_CONTAINS(
      fc(zeros({2, 5})), "Linear", "in_features = 4", "[2, 5]");
  CHECK_ERROR_CONTAINS(fc(zeros({2, 4}, kFloat64)), "Linear", "float64");
  CHECK_ERROR_CONTAINS(Linear(-1, 3), "Linear", "-1");
  CHECK_ERROR_CONTAINS(
      functional::linear(zeros({2, 4}), zeros({3, 4}), zeros({4})), "linear",
      "bias", "[3]", "[4]");
  CHECK_ERROR_CONTAINS(
      functional::linear(zeros({2, 4}), zeros({4})), "linear", "2-D");
}

}  // namespace voxgrad::nn
