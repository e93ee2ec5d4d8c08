// The backward engine: accumulation, graph retention, grad(), create_graph,
// broadcasting, NoGradGuard and very deep graphs.

#include "test_util.hpp"

namespace voxgrad {

TEST_CASE("backward accumulates into leaves and sums repeated uses") {
  const Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  const Tensor y = (x * x + x * 3.0).sum();  // dy/dx = 2x + 3
  y.backward();
  CHECK(test::allclose(x.grad(), tensor({5.0, 7.0, 9.0})));
  // A second graph adds to .grad(), as in PyTorch.
  (x * 2.0).sum().backward();
  CHECK(test::allclose(x.grad(), tensor({7.0, 9.0, 11.0})));
  CHECK(x.grad().grad_fn() == nullptr);
}

TEST_CASE("broadcast gradients are summed back to each input's shape") {
  const Tensor a = ones({2, 3, 4}).requires_grad_();
  const Tensor b = ones({3, 1}).requires_grad_();
  const Tensor c = scalar_tensor(2.0).requires_grad_();
  ((a * b) * c).sum().backward();
  CHECK(b.grad().shape() == Shape{3, 1});
  CHECK(test::allclose(b.grad(), full({3, 1}, 16.0)));
  CHECK(c.grad().shape() == Shape{});
  CHECK(c.grad().item() == doctest::Approx(24.0));
}

TEST_CASE("non-scalar backward needs a gradient of the output's shape") {
  const Tensor x = ones({2, 2}).requires_grad_();
  const Tensor y = x * 3.0;
  CHECK_ERROR_CONTAINS(y.backward(), "one-element outputs", "[2, 2]");
  CHECK_ERROR_CONTAINS(
      y.backward(ones({3})), "grad_outputs[0]", "[2, 2]", "[3]");
  y.backward(full({2, 2}, 2.0));
  CHECK(test::allclose(x.grad(), full({2, 2}, 6.0)));
}

TEST_CASE("saved tensors are freed after backward unless retain_graph") {
  const Tensor x = tensor({1.0, 2.0}).requires_grad_();
  const Tensor y = (x * x).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  CHECK(test::allclose(x.grad(), tensor({4.0, 8.0})));
  CHECK_ERROR_CONTAINS(y.backward(), "second time", "retain_graph");
}

TEST_CASE("backward from a tensor that does not require grad is an error") {
  CHECK_ERROR_CONTAINS(ones({1}).backward(), "does not require grad");
}

TEST_CASE("NoGradGuard records nothing, and in-place updates need it") {
  Tensor w = ones({3}).requires_grad_();
  {
    NoGradGuard guard;
    const Tensor y = w * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    w.fill_(0.5);
  }
  CHECK(autograd::GradMode::is_enabled());
  CHECK_ERROR_CONTAINS(w.fill_(1.0), "fill_", "NoGradGuard");
  CHECK(w.to_vector<float>() == std::vector<float>{0.5f, 0.5f, 0.5f});
}

TEST_CASE("a 100000-node chain runs backward and is freed without recursion") {
  Tensor x = scalar_tensor(1.0, kFloat64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i)
    y = y * 1.0 + 0.0;
  y.backward();
  CHECK(x.grad().item() == doctest::Approx(1.0));
  y = Tensor();  // releasing the chain must not overflow the stack
  Tensor z = x;
  for (int i = 0; i < 100000; ++i)
    z = z + 1.0;
  z = Tensor();  // and never having run backward
}

TEST_CASE("autograd::grad returns gradients without touching .grad()") {
  const Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  const Tensor w = tensor({3.0, 4.0}, kFloat64).requires_grad_();
  const Tensor h = x * w;  // a non-leaf input
  const Tensor y = (h * h).sum();
  const TensorList g = autograd::grad({y}, {x, h}, {}, false, true);
  CHECK(test::allclose(g[0], tensor({18.0, 64.0}, kFloat64)));  // 2 h w
  CHECK(test::allclose(g[1], tensor({6.0, 16.0}, kFloat64)));   // 2 h
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
  const Tensor unused = ones({1}, kFloat64).requires_grad_();
  CHECK_ERROR_CONTAINS(
      autograd::grad({y}, {unused}, {}, false, true), "not used",
      "allow_unused");
  const TensorList none = autograd::grad({y}, {unused}, {}, false, true, true);
  CHECK_FALSE(none[0].defined());
  CHECK_ERROR_CONTAINS(
      autograd::grad({y}, {ones({1})}), "does not require grad");
}

TEST_CASE("create_graph: gradients are differentiable (double backward)") {
  // f = x^3: f' = 3x^2, f'' = 6x.
  const Tensor x = tensor({2.0, -1.0}, kFloat64).requires_grad_();
  const Tensor f = pow(x, 3.0).sum();
  const Tensor g = autograd::grad({f}, {x}, {}, /*create_graph=*/true)[0];
  CHECK(g.requires_grad());
  CHECK(test::allclose(g, tensor({12.0, 3.0}, kFloat64)));
  g.sum().backward();
  CHECK(test::allclose(x.grad(), tensor({12.0, -6.0}, kFloat64)));

  // Through saved outputs (tanh keeps its output): d2/dx2 tanh = -2 t (1 -
  // t^2).
  const Tensor z = tensor({0.3}, kFloat64).requires_grad_();
  const Tensor t = tanh(z);
  const Tensor dz = autograd::grad({t.sum()}, {z}, {}, true)[0];
  const Tensor ddz = autograd::grad({dz.sum()}, {z})[0];
  const double tv = std::tanh(0.3);
  CHECK(ddz.item() == doctest::Approx(-2 * tv * (1 - tv * tv)).epsilon(1e-12));
}

TEST_CASE("backward with create_graph leaves a differentiable .grad()") {
  const Tensor x = tensor({1.5}, kFloat64).requires_grad_();
  (x * x * x).sum().backward({}, false, /*create_graph=*/true);
  const Tensor gx = x.grad();  // 3 x^2, still attached
  REQUIRE(gx.requires_grad());
  const Tensor second = autograd::grad({gx.sum()}, {x})[0];
  CHECK(second.item() == doctest::Approx(9.0));  // 6 x
}

TEST_CASE("requires_grad flows through ops and views, and detach cuts it") {
  const Tensor x = randn({2, 3}).requires_grad_();
  const Tensor v = x.transpose(0, 1).reshape({6});
  CHECK(v.requires_grad());
  CHECK_FALSE(v.is_leaf());
  CHECK(v.shares_storage_with(x) == false);  // a transposed reshape copies
  const Tensor d = x.detach();
  CHECK(d.is_leaf());
  CHECK_FALSE(d.requires_grad());
  CHECK(d.shares_storage_with(x));
  CHECK_ERROR_CONTAINS(Tensor(v).requires_grad_(false), "only leaf tensors");
}

TEST_CASE(
    "gradients accumulate across branches in a fixed order (deterministic)") {
  auto run = [] {
    Generator g(7);
    const Tensor x = randn({64, 64}, kFloat32, &g).requires_grad_();
    const Tensor y = (tanh(x) * sigmoid(x) + exp(x * 0.1) * x).sum();
    y.backward();
    return x.grad();
  };
  const Tensor a = test::with_threads(1, run);
  const Tensor b = test::with_threads(2, run);
  CHECK(test::bit_equal(a, b));
}

}  // namespace voxgrad
