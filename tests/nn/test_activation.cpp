// Activation modules: each equals its functional op; options, printing,
// errors.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("activation modules apply their functional ops") {
  Generator gen(41);
  const Tensor x = randn({3, 5}, kFloat32, &gen) * 3.0;
  CHECK(test::bit_equal(ReLU()(x), relu(x)));
  CHECK(test::bit_equal(LeakyReLU()(x), leaky_relu(x, 0.01)));
  CHECK(test::bit_equal(
      LeakyReLU(LeakyReLUOptions().negative_slope(0.2))(x),
      leaky_relu(x, 0.2)));
  CHECK(test::bit_equal(SiLU()(x), silu(x)));
  CHECK(test::bit_equal(Sigmoid()(x), sigmoid(x)));
  CHECK(test::bit_equal(Tanh()(x), tanh(x)));
  CHECK(test::bit_equal(Softplus()(x), softplus(x, 1, 20)));
  CHECK(test::bit_equal(
      Softplus(SoftplusOptions().beta(2).threshold(5))(x), softplus(x, 2, 5)));
  const Tensor xd = x.to(kFloat64).detach().requires_grad_();
  CHECK(gradcheck([](const TensorList& in) { return SiLU()(in[0]); }, {xd}));
}

TEST_CASE("activation modules: printing and errors") {
  std::ostringstream os;
  os << LeakyReLU(LeakyReLUOptions().negative_slope(0.2)) << "|"
     << Softplus(SoftplusOptions().beta(2)) << "|" << ReLU();
  CHECK(
      os.str() ==
      "LeakyReLU(negative_slope=0.2)  # 0 parameters|Softplus(beta=2, "
      "threshold=20)  # 0 parameters|ReLU()  # 0 parameters");
  CHECK_ERROR_CONTAINS(
      LeakyReLU(LeakyReLUOptions().negative_slope(INFINITY)), "LeakyReLU",
      "negative_slope", "inf");
  CHECK_ERROR_CONTAINS(
      Softplus(SoftplusOptions().beta(0)), "Softplus", "beta 0");
  CHECK_ERROR_CONTAINS(ReLU()(Tensor()), "ReLU", "undefined");
}

}  // namespace voxgrad::nn
