// Activation modules: each equals its functional op; options, printing,
// errors.

#include <algorithm>
#include <cmath>
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

TEST_CASE("issue 11 activations: modules, functional forms, formulas") {
  Generator gen(42);
  const Tensor x = randn({4, 3, 5}, kFloat64, &gen) * 3.0;
  CHECK(test::bit_equal(ELU()(x), elu(x, 1.0)));
  CHECK(test::bit_equal(ELU(ELUOptions().alpha(0.3))(x), elu(x, 0.3)));
  CHECK(test::bit_equal(
      functional::elu(x, ELUOptions().alpha(0.3)), elu(x, 0.3)));
  CHECK(test::bit_equal(GELU()(x), gelu(x)));
  CHECK(test::bit_equal(
      GELU(GELUOptions().approximate("tanh"))(x), gelu(x, "tanh")));
  CHECK(test::bit_equal(
      functional::gelu(x, functional::GELUFuncOptions().approximate("tanh")),
      gelu(x, "tanh")));
  CHECK(test::bit_equal(Mish()(x), mish(x)));
  CHECK(test::bit_equal(functional::mish(x), mish(x)));
  CHECK(test::bit_equal(Hardtanh()(x), hardtanh(x, -1, 1)));
  CHECK(test::bit_equal(
      functional::hardtanh(x, HardtanhOptions().min_val(0).max_val(6)),
      hardtanh(x, 0, 6)));
  CHECK(test::bit_equal(Softsign()(x), softsign(x)));
  CHECK(test::bit_equal(functional::softsign(x), softsign(x)));
  // Each against its textbook formula, element by element.
  const auto xv = x.to_vector<double>();
  const auto e = elu(x, 0.3).to_vector<double>();
  const auto g = gelu(x).to_vector<double>();
  const auto gt_ = gelu(x, "tanh").to_vector<double>();
  const auto m = mish(x).to_vector<double>();
  const auto h = hardtanh(x, -0.5, 2).to_vector<double>();
  const auto ss = softsign(x).to_vector<double>();
  const auto s = sin(x).to_vector<double>();
  const auto c = cos(x).to_vector<double>();
  const auto er = erf(x).to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) {
    const double v = xv[i];
    CHECK(e[i] == doctest::Approx(v > 0 ? v : 0.3 * std::expm1(v)));
    CHECK(
        g[i] == doctest::Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))));
    const double inner = std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v);
    CHECK(gt_[i] == doctest::Approx(0.5 * v * (1 + std::tanh(inner))));
    CHECK(m[i] == doctest::Approx(v * std::tanh(std::log1p(std::exp(v)))));
    CHECK(h[i] == std::clamp(v, -0.5, 2.0));
    CHECK(ss[i] == doctest::Approx(v / (1 + std::abs(v))));
    CHECK(s[i] == doctest::Approx(std::sin(v)).epsilon(1e-14));
    CHECK(c[i] == doctest::Approx(std::cos(v)).epsilon(1e-14));
    CHECK(er[i] == doctest::Approx(std::erf(v)).epsilon(1e-14));
  }
  // Large and special values: mish(x) = x and gelu(x) = x far out, NaN
  // stays NaN.
  const Tensor big = tensor({100.0, -100.0, NAN, INFINITY}, kFloat32);
  const auto mb = mish(big).to_vector<float>();
  CHECK(mb[0] == 100.0f);
  CHECK(mb[1] == doctest::Approx(0.0f));
  CHECK(std::isnan(mb[2]));
  CHECK(std::isnan(elu(big).to_vector<float>()[2]));
  CHECK(gelu(big).to_vector<float>()[0] == 100.0f);
  CHECK(std::isnan(hardtanh(big).to_vector<float>()[2]));
}

TEST_CASE("PReLU: PyTorch's parameter, init and broadcasting") {
  PReLU one;
  CHECK(one->named_parameters().size() == 1);
  CHECK(one->named_parameters()[0].first == "weight");
  CHECK(one->weight().shape() == Shape{1});
  CHECK(one->weight().to_vector<float>() == std::vector<float>{0.25f});
  PReLU per(PReLUOptions().num_parameters(3).init(0.1));
  CHECK(per->weight().to_vector<float>() == std::vector<float>(3, 0.1f));
  const Tensor x = tensor({-1.0, 2.0, -3.0, 4.0, -5.0, 6.0}, {2, 3});
  CHECK(
      per(x).to_vector<float>() ==
      std::vector<float>{-0.1f, 2.0f, -0.3f, 4.0f, -0.5f, 6.0f});
  CHECK(
      one(x.reshape({6})).to_vector<float>() ==
      std::vector<float>{-0.25f, 2.0f, -0.75f, 4.0f, -1.25f, 6.0f});
  CHECK(one(scalar_tensor(-2.0)).item() == -0.5);
  std::ostringstream os;
  os << per;
  CHECK(os.str() == "PReLU(num_parameters=3; weight [3])  # 3 parameters");
  // Both inputs are differentiated; the slope gradient sums over N and space.
  const Tensor xd = randn({2, 3, 4}, kFloat64).requires_grad_();
  per->to(kFloat64);
  CHECK(gradcheck(
      [&](const TensorList& in) { return prelu(in[0], in[1]); },
      {xd, per->weight()}));
  CHECK_ERROR_CONTAINS(per(zeros({2, 4, 3}, kFloat64)), "prelu", "1 or 4");
  CHECK_ERROR_CONTAINS(per(zeros({2, 3})), "float32", "float64");
  CHECK_ERROR_CONTAINS(
      PReLU(PReLUOptions().num_parameters(0)), "num_parameters", ">= 1");
  CHECK_ERROR_CONTAINS(
      prelu(zeros({2, 3}), zeros({1, 3})), "0-D or 1-D", "[1, 3]");
}

TEST_CASE("issue 11 activations: printing and errors") {
  std::ostringstream os;
  os << ELU(ELUOptions().alpha(0.5)) << "|"
     << GELU(GELUOptions().approximate("tanh")) << "|"
     << Hardtanh(HardtanhOptions().min_val(-2)) << "|" << Mish() << "|"
     << Softsign();
  CHECK(
      os.str() ==
      "ELU(alpha=0.5)  # 0 parameters|GELU(approximate='tanh')  # 0 "
      "parameters|Hardtanh(min_val=-2, max_val=1)  # 0 parameters|Mish()  # "
      "0 parameters|Softsign()  # 0 parameters");
  CHECK_ERROR_CONTAINS(
      GELU(GELUOptions().approximate("erf")), "GELU", "\"none\"", "\"erf\"");
  CHECK_ERROR_CONTAINS(gelu(zeros({2}), "fast"), "gelu", "\"fast\"");
  CHECK_ERROR_CONTAINS(
      Hardtanh(HardtanhOptions().min_val(1).max_val(1)), "Hardtanh",
      "greater than min_val", "min_val 1, max_val 1");
  CHECK_ERROR_CONTAINS(hardtanh(zeros({2}), 2, 1), "hardtanh", "max_val 1");
  CHECK_ERROR_CONTAINS(ELU(ELUOptions().alpha(NAN)), "ELU", "alpha");
  CHECK_ERROR_CONTAINS(Mish()(Tensor()), "Mish", "undefined");
  CHECK_ERROR_CONTAINS(sin(Tensor()), "sin", "undefined");
}

}  // namespace voxgrad::nn
