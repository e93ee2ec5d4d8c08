// nn::LayerNorm and functional::layer_norm: PyTorch's names, statistics over
// the trailing axes, gradients (float64 gradcheck and double backward) and
// errors. PyTorch parity is in test_kit_golden.cpp.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("LayerNorm: trailing-axes statistics, affine of that shape") {
  Generator gen(21);
  LayerNorm ln(LayerNormOptions({3, 4}).eps(0));
  CHECK(ln->named_parameters().size() == 2);
  CHECK(ln->weight().shape() == Shape{3, 4});
  CHECK(ln->bias().to_vector<float>() == std::vector<float>(12, 0.0f));
  ln->to(kFloat64);
  const Tensor x = randn({2, 5, 3, 4}, kFloat64, &gen) * 3.0 + 2.0;
  const Tensor y = ln(x).reshape({10, 12});
  CHECK(amax(abs(mean(y, {1}))).item() < 1e-12);
  CHECK(amax(abs(mean(y * y, {1}) - 1.0)).item() < 1e-12);
  // weight and bias apply per element of normalized_shape
  {
    NoGradGuard g;
    ln->weight().copy_(randn({3, 4}, kFloat64, &gen));
    ln->bias().copy_(randn({3, 4}, kFloat64, &gen));
  }
  LayerNorm bare(LayerNormOptions({3, 4}).eps(0).elementwise_affine(false));
  CHECK(bare->state_dict().empty());
  bare->to(kFloat64);
  CHECK(test::max_abs_diff(ln(x), bare(x) * ln->weight() + ln->bias()) < 1e-12);
  CHECK(test::bit_equal(
      ln(x), functional::layer_norm(
                 x, functional::LayerNormFuncOptions({3, 4})
                        .weight(ln->weight())
                        .bias(ln->bias())
                        .eps(0))));
  const Tensor xs = randn({2, 3, 4}, kFloat64, &gen).requires_grad_();
  auto fn = [&](const TensorList& in) {
    return functional::layer_norm(
        in[0],
        functional::LayerNormFuncOptions({3, 4}).weight(in[1]).bias(in[2]).eps(
            1e-5));
  };
  const TensorList args{xs, ln->weight(), ln->bias()};
  CHECK(gradcheck(fn, args));
  CHECK(gradgradcheck(fn, args));
  std::ostringstream os;
  os << LayerNorm(LayerNormOptions({8}));
  CHECK(
      os.str() ==
      "LayerNorm([8], eps=1e-05, elementwise_affine=true; weight [8], bias "
      "[8])  # 16 parameters");
}

TEST_CASE("LayerNorm: errors name the shape and the rule") {
  LayerNorm ln(LayerNormOptions({4}));
  CHECK_ERROR_CONTAINS(
      ln(zeros({2, 3})), "layer_norm", "normalized_shape [4]", "[*, 4]",
      "[2, 3]");
  CHECK_ERROR_CONTAINS(ln(zeros({4}, kFloat64)), "float64", "float32");
  CHECK_ERROR_CONTAINS(
      LayerNorm(LayerNormOptions(std::vector<int64_t>{})), "LayerNorm",
      "normalized_shape", "at least one");
  CHECK_ERROR_CONTAINS(
      LayerNorm(LayerNormOptions({4}).eps(-1)), "LayerNorm", "eps");
  CHECK_ERROR_CONTAINS(
      functional::layer_norm(
          zeros({2, 4}),
          functional::LayerNormFuncOptions({4}).weight(ones({3}))),
      "weight", "[4]", "[3]");
}

}  // namespace voxgrad::nn
