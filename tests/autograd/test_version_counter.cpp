// NOTE [ Version counter ] (voxgrad/core/storage.hpp): writes bump a counter
// shared by every view and detach() of a storage; a backward whose saved
// tensors changed since its forward refuses instead of returning a wrong
// gradient (issue 10, class 3). test_op_list.cpp checks every op of ops.def;
// these cases check the counter itself and the paths users take.

#include "test_util.hpp"

namespace voxgrad {
namespace {

constexpr const char* kInplace = "modified by an in-place operation";

}  // namespace

TEST_CASE("every write bumps the version, reads do not") {
  const Tensor x = zeros({4});
  const uint64_t v0 = x.version();
  (void)x.data<float>();
  (void)x.raw_data();
  (void)x.sum();
  (void)x.to_vector<float>();
  CHECK(x.version() == v0);
  x.fill_(1);
  CHECK(x.version() == v0 + 1);
  x.zero_();
  CHECK(x.version() == v0 + 2);
  x.copy_(ones({4}));
  CHECK(x.version() == v0 + 3);
  (void)x.mutable_data<float>();
  CHECK(x.version() == v0 + 4);
  (void)x.mutable_raw_data();
  CHECK(x.version() == v0 + 5);
}

TEST_CASE("views and detach share one version counter") {
  const Tensor x = zeros({2, 3});
  const Tensor views[] = {x.detach(),       x.reshape({6}), x.transpose(0, 1),
                          x.slice(1, 1, 3), x.select(0, 1), x.unsqueeze(0)};
  for (const Tensor& v : views) {
    const uint64_t before = x.version();
    v.fill_(2);
    CHECK(x.version() == before + 1);
    CHECK(v.version() == x.version());
  }
  // A copy has a counter of its own.
  const Tensor c = x.clone();
  const uint64_t cx = x.version();
  c.fill_(3);
  CHECK(x.version() == cx);
}

TEST_CASE("dL/dw after writing into a saved input in place is refused") {
  // The example: l = (w * x).sum(); x.fill_(5); l.backward() gave
  // dL/dw = 5 instead of x's old values.
  const Tensor w = randn({3}).requires_grad_();
  const Tensor x = randn({3});
  const Tensor l = (w * x).sum();
  x.fill_(5);
  CHECK_ERROR_CONTAINS(
      l.backward(), kInplace, "backward through 'mul'", "input 1",
      "float32 [3]", "is at version", "expected version");
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("writes through a view or a detach() of a saved tensor are caught") {
  auto check = [](auto&& write) {
    const Tensor w = randn({2, 3}).requires_grad_();
    const Tensor x = randn({2, 3});
    const Tensor l = (w * x).sum();
    write(x);
    CHECK_ERROR_CONTAINS(l.backward(), kInplace);
  };
  check([](const Tensor& x) { x.detach().fill_(0); });
  check([](const Tensor& x) { x.slice(1, 0, 1).fill_(0); });
  check([](const Tensor& x) { x.transpose(0, 1).copy_(ones({3, 2})); });
  check([](const Tensor& x) { x.reshape({6}).zero_(); });
  check([](const Tensor& x) { x.mutable_data<float>()[0] = 1; });
}

TEST_CASE("writing into a saved output through detach() is caught") {
  // sigmoid's backward reads its output: y.detach().fill_() corrupted it.
  const Tensor x = randn({4}).requires_grad_();
  const Tensor y = sigmoid(x);
  y.detach().fill_(0.5);
  CHECK_ERROR_CONTAINS(
      y.sum().backward(), kInplace, "backward through 'sigmoid'", "its output");
}

TEST_CASE("conv3d weight gradient: a write into the input is refused") {
  // Through conv3d the weight gradient was off by up to 13.
  const Tensor x = randn({1, 2, 5, 5, 5});
  const Tensor w = randn({3, 2, 3, 3, 3}).requires_grad_();
  const Tensor y = conv3d(x, w);
  x.fill_(1);
  CHECK_ERROR_CONTAINS(y.sum().backward(), kInplace, "conv3d");
  // ...and the transposed op, for its weight through the input u.
  const Tensor u = randn({1, 3, 3, 3, 3});
  const Tensor z = conv_transpose3d(u, w);
  u.detach().zero_();
  CHECK_ERROR_CONTAINS(z.sum().backward(), kInplace, "conv_transpose3d");
}

TEST_CASE("writes that the backward does not read leave it alone") {
  // add needs no values; relu reads its output, not its input.
  const Tensor a = randn({3}).requires_grad_();
  const Tensor b = randn({3});
  const Tensor l = (a + b).sum();
  b.fill_(7);
  l.backward();
  CHECK(test::bit_equal(a.grad(), ones({3})));
  const Tensor x = tensor({-1.0, 2.0, 3.0}).requires_grad_();
  const Tensor h = tensor({1.0, 1.0, 1.0});
  const Tensor r = relu(x * h);
  h.fill_(2);  // mul saved h: this one is refused
  CHECK_ERROR_CONTAINS(r.sum().backward(), kInplace, "mul");
}

TEST_CASE("an optimizer step between forward and backward is refused") {
  nn::Linear fc(nn::LinearOptions(3, 2));
  optim::SGD opt(fc->parameters(), optim::SGDOptions(0.1));
  const Tensor x = randn({4, 3}).requires_grad_();
  const Tensor l1 = pow(fc(x), 2.0).sum();
  l1.backward(/*grad=*/{}, /*retain_graph=*/true);
  opt.step();  // writes the weight that l1's matmul saved
  CHECK_ERROR_CONTAINS(
      autograd::grad({l1}, {x}), kInplace, "backward through 'matmul'");
  // A fresh forward after the step is fine.
  const Tensor l2 = pow(fc(x), 2.0).sum();
  CHECK(autograd::grad({l2}, {x})[0].defined());
}

TEST_CASE("a parameter converted by Module::to after the forward is caught") {
  // Module::to rewrites the parameter's TensorImpl in place (handles stay
  // valid), so a backward that captured the handle would read new values.
  nn::Linear fc(nn::LinearOptions(3, 2));
  const Tensor x = randn({2, 3}).requires_grad_();
  const Tensor l = (fc->weight() * x).sum();
  fc->to(kFloat64);
  CHECK_ERROR_CONTAINS(
      autograd::grad({l}, {x}), "backward through 'mul'",
      "had its storage replaced");
}

TEST_CASE("create_graph: the double backward checks versions too") {
  const Tensor x = randn({3}, kFloat64).requires_grad_();
  const Tensor y = (x * x * x).sum();
  const Tensor gx = autograd::grad({y}, {x}, {}, /*create_graph=*/true)[0];
  {
    NoGradGuard ng;
    x.detach().fill_(2);
  }
  CHECK_ERROR_CONTAINS(gx.sum().backward(), kInplace);
}

}  // namespace voxgrad
