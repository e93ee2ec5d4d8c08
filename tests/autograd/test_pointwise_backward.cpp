// The fused backward ops of the activations and losses
// (voxgrad/autograd/pointwise_backward.hpp, nn_ops.hpp) against the
// compositions of elementwise ops they replaced, in float32 over large and
// broadcast operands (their derivatives of every order are gradchecked in
// float64 by test_op_list.cpp).

#include "test_util.hpp"
#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/pointwise_backward.hpp"

namespace voxgrad {

TEST_CASE("fused activation backward ops equal their formulas") {
  Generator g(3);
  const Tensor grad = randn({3, 70001}, kFloat32, &g);
  const Tensor x = randn({3, 70001}, kFloat32, &g) * 4.0;
  const Tensor row = randn({70001}, kFloat32, &g);  // broadcast grad
  struct Case {
    const char* name;
    Tensor got, want;
    double tol;
  };
  const Tensor s = sigmoid(x), t = tanh(x);
  const Case cases[] = {
      {"relu", relu_backward(grad, relu(x)), grad * gt(relu(x), 0.0), 0},
      {"leaky_relu", leaky_relu_backward(row, x, 0.2),
       row * (gt(x, 0.0) * 0.8 + 0.2), 0},
      {"sigmoid", sigmoid_backward(grad, s), grad * (1.0 - s) * s, 0},
      {"tanh", tanh_backward(grad, t), grad * (1.0 - t * t), 0},
      {"silu", silu_backward(grad, x), grad * s * (1.0 + x * (1.0 - s)), 0},
      {"softplus", softplus_backward(grad, x, 2.0, 3.0),
       grad * (gt(x * 2.0, 3.0) + (1.0 - gt(x * 2.0, 3.0)) * sigmoid(x * 2.0)),
       1e-6},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    // tol 0: the same values (a zero's sign aside: relu_backward gives +0
    // where grad * 0 gave -0 for a negative grad, as PyTorch's does).
    CHECK(test::allclose(c.got, c.want, c.tol, c.tol == 0 ? 0.0 : 1e-6));
  }
}

TEST_CASE("fused loss ops equal their formulas") {
  Generator g(5);
  const Tensor x = randn({4, 50001}, kFloat32, &g) * 8.0;
  const Tensor p = uniform({4, 50001}, 0.0, 1.0, kFloat32, &g);
  const Tensor t = uniform({4, 50001}, 0.0, 1.0, kFloat32, &g);
  const Tensor grad = randn({4, 50001}, kFloat32, &g);
  // BCE with logits: the same operations as softplus(-x, 1, 40) composed,
  // so the same bits.
  CHECK(test::bit_equal(
      binary_cross_entropy_with_logits_op(x, t),
      (1.0 - t) * x + softplus(-x, 1.0, 40.0)));
  CHECK(test::allclose(
      binary_cross_entropy_with_logits_backward(grad, x, t),
      grad * (sigmoid(x) - t), 1e-6, 1e-5));
  CHECK(test::bit_equal(mse_loss_op(x, t), (x - t) * (x - t)));
  CHECK(test::bit_equal(mse_loss_backward(grad, x, t), 2.0 * (x - t) * grad));
  CHECK(test::bit_equal(
      binary_cross_entropy_backward(grad, p, t),
      grad * (p - t) / clamp_min(p * (1.0 - p), 1e-12)));
  // Saturated predictions: finite gradients (the reason BCE is one op).
  const Tensor edge = tensor({0.0, 1.0, 0.5});
  const Tensor target = tensor({1.0, 0.0, 0.5});
  CHECK(
      binary_cross_entropy_op(edge, target).to_vector<float>() ==
      std::vector<float>{100, 100, 0.693147182f});
  for (float v : binary_cross_entropy_backward(ones({3}), edge, target)
                     .to_vector<float>())
    CHECK(std::isfinite(v));
}

TEST_CASE("fused backward ops refuse mismatched operands, naming the op") {
  CHECK_ERROR_CONTAINS(
      relu_backward(ones({3}), ones({3}, kFloat64)), "relu_backward", "float32",
      "float64");
  CHECK_ERROR_CONTAINS(
      sigmoid_backward(ones({3}), ones({4})), "sigmoid_backward", "[3]", "[4]");
  CHECK_ERROR_CONTAINS(
      mse_loss_op(ones({2, 3}), ones({3})), "mse_loss", "same shape");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy_with_logits_backward(ones({2}), Tensor(), ones({2})),
      "binary_cross_entropy_with_logits_backward", "undefined");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy_op(tensor({0.5, 1.5}), ones({2})),
      "binary_cross_entropy", "1.5", "flat index 1");
}

}  // namespace voxgrad
