// Post-accumulate-grad hooks: when they fire, what they see, and how they
// are removed.

#include <vector>

#include "test_util.hpp"
#include "voxgrad/autograd/hooks.hpp"

namespace voxgrad {

using autograd::register_post_accumulate_grad_hook;

TEST_CASE("post-accumulate hook sees the summed gradient once per backward") {
  const Tensor x = tensor({1.0, 2.0}).requires_grad_();
  std::vector<std::vector<double>> seen;
  auto h = register_post_accumulate_grad_hook(x, [&](const Tensor& leaf) {
    seen.push_back(leaf.grad().to_vector<double>());
  });
  // x is used twice: the hook runs once, after both uses are summed.
  (x * x + x * 3.0).sum().backward();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<double>{5.0, 7.0});
  // A second backward accumulates; the hook sees the running total.
  (x * 2.0).sum().backward();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{7.0, 9.0});
}

TEST_CASE("post-accumulate hooks fire in backward order, last layer first") {
  const Tensor w1 = ones({2}).requires_grad_();
  const Tensor w2 = ones({2}).requires_grad_();
  std::vector<int> order;
  auto h1 = register_post_accumulate_grad_hook(
      w1, [&](const Tensor&) { order.push_back(1); });
  auto h2 = register_post_accumulate_grad_hook(
      w2, [&](const Tensor&) { order.push_back(2); });
  const Tensor x = tensor({0.5, 1.5});
  (exp(x * w1) * w2).sum().backward();
  CHECK(order == std::vector<int>{2, 1});
}

TEST_CASE("post-accumulate hooks are not called by autograd::grad") {
  const Tensor x = tensor({1.0, 2.0}).requires_grad_();
  int calls = 0;
  auto h =
      register_post_accumulate_grad_hook(x, [&](const Tensor&) { ++calls; });
  auto g = autograd::grad({(x * x).sum()}, {x});
  CHECK(calls == 0);
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a hook handle removes its hook on remove() and when destroyed") {
  const Tensor x = tensor({1.0}).requires_grad_();
  int a = 0, b = 0;
  auto ha = register_post_accumulate_grad_hook(x, [&](const Tensor&) { ++a; });
  {
    auto hb =
        register_post_accumulate_grad_hook(x, [&](const Tensor&) { ++b; });
    (x * 2.0).sum().backward();
    CHECK(hb.active());
  }
  (x * 2.0).sum().backward();
  ha.remove();
  CHECK_FALSE(ha.active());
  ha.remove();  // idempotent
  (x * 2.0).sum().backward();
  CHECK(a == 2);
  CHECK(b == 1);
  // A moved-from handle owns nothing; the moved-to one keeps the hook.
  auto hc = register_post_accumulate_grad_hook(x, [&](const Tensor&) { ++a; });
  autograd::HookHandle moved = std::move(hc);
  CHECK_FALSE(hc.active());
  (x * 2.0).sum().backward();
  CHECK(a == 3);
}

TEST_CASE("a hook of a dead tensor never fires for another tensor") {
  int calls = 0;
  autograd::HookHandle h;
  {
    const Tensor dead = tensor({1.0}).requires_grad_();
    h = register_post_accumulate_grad_hook(
        dead, [&](const Tensor&) { ++calls; });
  }
  for (int i = 0; i < 16; ++i) {
    const Tensor y = tensor({1.0}).requires_grad_();
    (y * 3.0).sum().backward();
  }
  CHECK(calls == 0);
}

TEST_CASE("post-accumulate hooks need a leaf that requires grad") {
  const Tensor x = tensor({1.0}).requires_grad_();
  auto noop = [](const Tensor&) {};
  CHECK_ERROR_CONTAINS(
      (void)register_post_accumulate_grad_hook(x * 2.0, noop),
      "register_post_accumulate_grad_hook", "leaf that requires grad",
      "output of an op");
  CHECK_ERROR_CONTAINS(
      (void)register_post_accumulate_grad_hook(tensor({1.0}), noop),
      "does not require grad");
  CHECK_ERROR_CONTAINS(
      (void)register_post_accumulate_grad_hook(x, nullptr), "empty");
}

}  // namespace voxgrad
