// Losses: reductions, float64 gradchecks (input and target), numerical
// stability at the extremes, module forms and errors. PyTorch parity is in
// test_nn_golden.cpp.

#include <cmath>
#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

using functional::binary_cross_entropy;
using functional::binary_cross_entropy_with_logits;
using functional::kl_divergence_gaussian;
using functional::l1_loss;
using functional::mse_loss;

constexpr Reduction kReductions[] = {
    Reduction::None, Reduction::Mean, Reduction::Sum};

bool all_finite(const Tensor& t) {
  return isfinite(t).sum().item() == static_cast<double>(t.numel());
}

}  // namespace

TEST_CASE("losses: reductions none / mean / sum relate as they should") {
  Generator gen(21);
  const Tensor x = randn({3, 4}, kFloat64, &gen);
  const Tensor t = randn({3, 4}, kFloat64, &gen);
  const Tensor p = sigmoid(x), q = rand({3, 4}, kFloat64, &gen);
  const std::vector<std::function<Tensor(Reduction)>> losses{
      [&](Reduction r) { return mse_loss(x, t, r); },
      [&](Reduction r) { return l1_loss(x, t, r); },
      [&](Reduction r) { return binary_cross_entropy(p, q, {}, r); },
      [&](Reduction r) {
        return binary_cross_entropy_with_logits(x, q, {}, {}, r);
      },
      [&](Reduction r) { return kl_divergence_gaussian(x, t, r); }};
  for (const auto& loss : losses) {
    const Tensor none = loss(Reduction::None);
    CHECK(none.shape() == Shape{3, 4});
    CHECK(loss(Reduction::Sum).dim() == 0);
    CHECK(loss(Reduction::Sum).item() == doctest::Approx(none.sum().item()));
    CHECK(loss(Reduction::Mean).item() == doctest::Approx(none.mean().item()));
  }
  // Spot values from the definitions.
  CHECK(
      mse_loss(tensor({1.0, 2.0}), tensor({0.0, 4.0})).item() ==
      doctest::Approx(2.5));
  CHECK(
      l1_loss(tensor({1.0, 2.0}), tensor({0.0, 4.0}), Reduction::Sum).item() ==
      doctest::Approx(3.0));
  CHECK(
      kl_divergence_gaussian(zeros({5}), zeros({5}), Reduction::Sum).item() ==
      0.0);
  // BCE with logits equals BCE of the sigmoid where both are accurate.
  CHECK(test::allclose(
      binary_cross_entropy_with_logits(x, q, {}, {}, Reduction::None),
      binary_cross_entropy(sigmoid(x), q, {}, Reduction::None), 1e-12, 1e-10));
}

TEST_CASE("losses: float64 gradcheck of input and target, every reduction") {
  Generator gen(22);
  auto leaf = [](Tensor t) { return t.requires_grad_(); };
  // L1 inputs are kept 0.3 apart from the target (|.| has a kink at 0).
  const Tensor x = leaf(randn({2, 3}, kFloat64, &gen));
  const Tensor t =
      leaf((x.detach() + sign(randn({2, 3}, kFloat64, &gen)) * 0.3 +
            uniform({2, 3}, -0.1, 0.1, kFloat64, &gen))
               .detach());
  const Tensor p = leaf(uniform({2, 3}, 0.1, 0.9, kFloat64, &gen));
  const Tensor q = leaf(uniform({2, 3}, 0.0, 1.0, kFloat64, &gen));
  const Tensor w = uniform({3}, 0.5, 1.5, kFloat64, &gen);
  const Tensor pw = uniform({3}, 0.5, 3.0, kFloat64, &gen);
  for (Reduction r : kReductions) {
    CAPTURE(reduction_name(r));
    CHECK(gradcheck(
        [r](const TensorList& in) { return mse_loss(in[0], in[1], r); },
        {x, t}));
    CHECK(gradcheck(
        [r](const TensorList& in) { return l1_loss(in[0], in[1], r); },
        {x, t}));
    CHECK(gradcheck(
        [&](const TensorList& in) {
          return binary_cross_entropy(in[0], in[1], w, r);
        },
        {p, q}));
    CHECK(gradcheck(
        [&](const TensorList& in) {
          return binary_cross_entropy_with_logits(in[0], in[1], w, pw, r);
        },
        {x, q}));
    CHECK(gradcheck(
        [r](const TensorList& in) {
          return kl_divergence_gaussian(in[0], in[1], r);
        },
        {x, t}));
  }
  CHECK(gradgradcheck(
      [&](const TensorList& in) {
        return binary_cross_entropy_with_logits(in[0], in[1], w, pw);
      },
      {x, q}));
  CHECK(gradgradcheck(
      [&](const TensorList& in) { return binary_cross_entropy(in[0], in[1]); },
      {p, q}));
}

TEST_CASE("BCE at saturated predictions: finite, PyTorch's clamps") {
  // log clamped at -100; d/dx = (x - t) / max(x (1 - x), 1e-12).
  const Tensor x = tensor({0.0, 1.0, 0.0, 1.0}, kFloat64).requires_grad_();
  const Tensor t = tensor({0.0, 1.0, 1.0, 0.0}, kFloat64);
  const Tensor loss = binary_cross_entropy(x, t, {}, Reduction::None);
  CHECK(loss.to_vector<double>() == std::vector<double>{0, 0, 100, 100});
  loss.sum().backward();
  const auto g = x.grad().to_vector<double>();
  CHECK(g[0] == 0);
  CHECK(g[1] == 0);
  CHECK(g[2] == doctest::Approx(-1e12));
  CHECK(g[3] == doctest::Approx(1e12));
}

TEST_CASE("BCEWithLogits stays finite for huge logits, in float32 too") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    const Tensor x =
        tensor({-1000.0, -50.0, 0.0, 50.0, 1000.0}, dt).requires_grad_();
    const Tensor t = tensor({1.0, 0.0, 0.5, 1.0, 0.0}, dt);
    const Tensor loss = binary_cross_entropy_with_logits(
        x, t, {}, full({5}, 2.0, dt), Reduction::None);
    CHECK(all_finite(loss));
    const auto v = loss.to_vector<double>();
    CHECK(v[0] == doctest::Approx(2000.0));  // pos_weight 2 * softplus(1000)
    CHECK(v[1] == doctest::Approx(0.0));
    CHECK(v[2] == doctest::Approx(std::log(2.0) * 1.5));
    CHECK(v[4] == doctest::Approx(1000.0));
    loss.sum().backward();
    CHECK(all_finite(x.grad()));
  }
}

TEST_CASE("loss modules: forward(input, target), buffers, printing") {
  Generator gen(23);
  const Tensor x = randn({2, 3}, kFloat32, &gen);
  const Tensor t = rand({2, 3}, kFloat32, &gen);
  MSELoss mse;
  CHECK(mse(x, t).item() == mse_loss(x, t).item());
  L1Loss l1(Reduction::Sum);
  CHECK(l1(x, t).item() == l1_loss(x, t, Reduction::Sum).item());
  BCELoss bce(BCELossOptions().weight(full({3}, 2.0)));
  CHECK(bce->named_buffers().at(0).first == "weight");
  CHECK(
      bce(sigmoid(x), t).item() ==
      doctest::Approx(2.0 * binary_cross_entropy(sigmoid(x), t).item()));
  BCEWithLogitsLoss bwl(
      BCEWithLogitsLossOptions().pos_weight(ones({3})).reduction(
          Reduction::None));
  CHECK(bwl->named_buffers().at(0).first == "pos_weight");
  CHECK(test::allclose(
      bwl(x, t),
      binary_cross_entropy_with_logits(x, t, {}, {}, Reduction::None)));
  GaussianKLLoss kl(Reduction::Sum);
  CHECK(kl(x, x).item() == kl_divergence_gaussian(x, x, Reduction::Sum).item());
  std::ostringstream os;
  os << mse << "|" << l1 << "|" << kl;
  CHECK(
      os.str() ==
      "MSELoss(reduction=mean)  # 0 parameters|L1Loss(reduction=sum)  # 0 "
      "parameters|GaussianKLLoss(reduction=sum)  # 0 parameters");
}

TEST_CASE("losses: errors name the op, the arguments and the rule") {
  CHECK_ERROR_CONTAINS(
      mse_loss(zeros({2, 3}), zeros({3, 2})),
      "mse_loss: input [2, 3] and target [3, 2] must have the same shape");
  CHECK_ERROR_CONTAINS(
      l1_loss(zeros({2}), zeros({2}, kFloat64)), "l1_loss", "float32",
      "float64");
  CHECK_ERROR_CONTAINS(l1_loss(zeros({2}), Tensor()), "l1_loss", "target");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy(tensor({0.5, 1.5}), tensor({0.0, 1.0})),
      "binary_cross_entropy", "[0, 1]", "1.5", "flat index 1");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy(tensor({0.5, -0.0001}), tensor({0.0, 1.0})),
      "-0.0001");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy(tensor({0.5, std::nan("")}), tensor({0.0, 1.0})),
      "nan");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy(full({2, 3}, 0.5), zeros({2, 3}), ones({2})),
      "weight", "[2]", "[2, 3]");
  CHECK_ERROR_CONTAINS(
      binary_cross_entropy_with_logits(
          zeros({2, 3}), zeros({2, 3}), {}, ones({4})),
      "binary_cross_entropy_with_logits", "pos_weight", "[4]");
  CHECK_ERROR_CONTAINS(
      kl_divergence_gaussian(zeros({4}), zeros({5})), "kl_divergence_gaussian",
      "mu [4]", "logvar [5]");
}

}  // namespace voxgrad::nn
