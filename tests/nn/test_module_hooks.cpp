// Module forward hooks (NOTE [ Forward hooks ] in voxgrad/nn/module_hooks.hpp):
// what they see and replace, their order, removal, hooks changed or thrown
// from inside a call, children of containers, calls with any arguments.

#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

using test::bit_equal;
using Log = std::vector<std::string>;

/// forward(a, scale, b) = a * scale + b: Tensor and other arguments mixed.
struct AffineMixImpl : Module {
  Tensor forward(const Tensor& a, double scale, const Tensor& b) {
    return a * scale + b;
  }
};
VOXGRAD_MODULE(AffineMix);

struct SplitTupleImpl : Module {
  std::tuple<Tensor, Tensor> forward(const Tensor& x) {
    return {x * 2.0, x + 1.0};
  }
};
VOXGRAD_MODULE(SplitTuple);

struct SplitPairImpl : Module {
  std::pair<Tensor, Tensor> forward(const Tensor& x) {
    return {x - 1.0, x * 3.0};
  }
};
VOXGRAD_MODULE(SplitPair);

/// A result hooks cannot see.
struct CountImpl : Module {
  int64_t forward(const Tensor& x) {
    return x.numel();
  }
};
VOXGRAD_MODULE(Count);

/// Takes its tensor by value (called with temporaries).
struct ByValueImpl : Module {
  Tensor forward(Tensor x) {
    return x + 1.0;
  }
};
VOXGRAD_MODULE(ByValue);

struct NoResultImpl : Module {
  void forward(const Tensor& x) {
    seen = x;
  }
  Tensor seen;
};
VOXGRAD_MODULE(NoResult);

}  // namespace

TEST_CASE("module hooks: a pre-hook replaces the input, a hook the output") {
  Linear fc(3, 2);
  const Tensor x = randn({4, 3});
  RemovableHandle pre = fc->register_forward_pre_hook(
      [](Module&, const TensorList& in) -> std::optional<TensorList> {
        return TensorList{in[0] * 2.0};
      });
  RemovableHandle post = fc->register_forward_hook(
      [](Module&, const TensorList&,
         const TensorList& out) -> std::optional<TensorList> {
        return TensorList{out[0] + 1.0};
      });
  CHECK(fc->has_forward_hooks());
  CHECK(bit_equal(fc(x), fc->forward(x * 2.0) + 1.0));
  CHECK(bit_equal(fc.forward(x), fc->forward(x * 2.0) + 1.0));
  // fc->forward is the bare forward: no hook, as m.forward(x) in PyTorch.
  CHECK(bit_equal(
      fc->forward(x), functional::linear(x, fc->weight(), fc->bias())));
  pre.remove();
  CHECK(bit_equal(fc(x), fc->forward(x) + 1.0));
  post.remove();
  CHECK(bit_equal(fc(x), fc->forward(x)));
  CHECK_FALSE(fc->has_forward_hooks());
}

TEST_CASE("module hooks: a replaced output carries its gradient") {
  Linear fc(3, 2);
  const Tensor x = randn({4, 3});
  fc(x).sum().backward();
  const Tensor plain = fc->weight().grad().clone();
  fc->zero_grad();
  fc->register_forward_hook(
      [](Module&, const TensorList&, const TensorList& out) {
        return std::optional<TensorList>(TensorList{out[0] * 3.0});
      });
  fc(x).sum().backward();
  CHECK(test::allclose(fc->weight().grad(), plain * 3.0, 1e-6, 1e-6));
}

TEST_CASE("module hooks: run in registration order, each sees the last") {
  Linear fc(2, 2);
  Log log;
  const Tensor x = ones({1, 2});
  fc->register_forward_pre_hook([&](Module& m, const TensorList& in) {
    CHECK(&m == fc.get());
    log.push_back("pre1 " + std::to_string(in[0].sum().item()));
    return std::optional<TensorList>(TensorList{in[0] + 1.0});
  });
  fc->register_forward_pre_hook([&](Module&, const TensorList& in) {
    log.push_back("pre2 " + std::to_string(in[0].sum().item()));
  });
  fc->register_forward_hook(
      [&](Module&, const TensorList& in, const TensorList& out) {
        // The inputs forward received, after the pre-hooks.
        log.push_back("post1 " + std::to_string(in[0].sum().item()));
        return std::optional<TensorList>(TensorList{out[0] * 0.0});
      });
  fc->register_forward_hook(
      [&](Module&, const TensorList&, const TensorList& out) {
        log.push_back("post2 " + std::to_string(abs(out[0]).sum().item()));
      });
  const Tensor y = fc(x);
  CHECK(abs(y).sum().item() == 0.0);
  CHECK(
      log == Log{"pre1 2.000000", "pre2 4.000000", "post1 4.000000",
                 "post2 0.000000"});
}

TEST_CASE("module hooks: handles remove once, outlive the module, share") {
  RemovableHandle none;
  CHECK_FALSE(none.active());
  none.remove();  // refers to nothing: no-op
  int calls = 0;
  RemovableHandle outlives;
  {
    Linear fc(2, 2);
    const Tensor x = ones({1, 2});
    RemovableHandle h = fc->register_forward_hook(
        [&](Module&, const TensorList&, const TensorList&) { ++calls; });
    RemovableHandle copy = h;
    CHECK(h.active());
    CHECK(copy.active());
    fc(x);
    CHECK(calls == 1);
    copy.remove();
    CHECK_FALSE(h.active());
    h.remove();  // idempotent
    h.remove();
    fc(x);
    CHECK(calls == 1);
    // Dropping a handle keeps its hook (as in PyTorch).
    (void)fc->register_forward_hook(
        [&](Module&, const TensorList&, const TensorList&) { ++calls; });
    fc(x);
    CHECK(calls == 2);
    outlives = fc->register_forward_pre_hook(
        [&](Module&, const TensorList&) { ++calls; });
    CHECK(outlives.active());
  }
  CHECK_FALSE(outlives.active());  // the module is gone
  outlives.remove();               // and removing is still safe
}

TEST_CASE("module hooks: changes made by a hook take effect next call") {
  Linear fc(2, 2);
  const Tensor x = ones({1, 2});
  Log log;
  RemovableHandle c, self;
  bool added = false;
  fc->register_forward_pre_hook([&](Module& m, const TensorList&) {
    log.push_back("a");
    if (added)
      return;
    added = true;
    m.register_forward_pre_hook(
        [&](Module&, const TensorList&) { log.push_back("b"); });
    c.remove();  // registered after this one: still runs in this call
  });
  c = fc->register_forward_pre_hook(
      [&](Module&, const TensorList&) { log.push_back("c"); });
  self = fc->register_forward_pre_hook([&](Module&, const TensorList&) {
    log.push_back("self");
    self.remove();  // removing itself while running is safe
  });
  bool added_post = false;
  fc->register_forward_hook(
      [&](Module& m, const TensorList&, const TensorList&) {
        log.push_back("post");
        if (!added_post) {
          added_post = true;
          m.register_forward_hook(
              [&](Module&, const TensorList&, const TensorList&) {
                log.push_back("post-added");
              });
        }
      });
  fc(x);
  CHECK(log == Log{"a", "c", "self", "post"});
  log.clear();
  fc(x);
  CHECK(log == Log{"a", "b", "post", "post-added"});
  CHECK_FALSE(c.active());
  CHECK_FALSE(self.active());
}

TEST_CASE("module hooks: a throwing hook leaves the module as it was") {
  Linear fc(3, 2);
  const Tensor x = randn({2, 3});
  int posts = 0;
  fc->register_forward_hook(
      [&](Module&, const TensorList&, const TensorList&) { ++posts; });
  RemovableHandle bad_pre = fc->register_forward_pre_hook(
      [](Module&, const TensorList&) -> std::optional<TensorList> {
        VOXGRAD_FAIL("this pre-hook refuses");
      });
  CHECK_ERROR_CONTAINS(fc(x), "this pre-hook refuses");
  CHECK(posts == 0);  // forward and the forward hooks did not run
  bad_pre.remove();
  CHECK(bit_equal(fc(x), fc->forward(x)));
  CHECK(posts == 1);

  RemovableHandle bad_post = fc->register_forward_hook(
      [](Module&, const TensorList&,
         const TensorList&) -> std::optional<TensorList> {
        throw std::runtime_error("this hook throws");
      });
  CHECK_THROWS_WITH_AS(fc(x), "this hook throws", std::runtime_error);
  CHECK(posts == 2);  // the hook before it ran
  bad_post.remove();
  CHECK(bit_equal(fc(x), fc->forward(x)));
  CHECK(posts == 3);
  // The gradient path is intact after the failures.
  fc(x).sum().backward();
  CHECK(fc->weight().grad().defined());

  // A replacement of the wrong size is an error naming the hook and counts.
  RemovableHandle two =
      fc->register_forward_pre_hook([](Module&, const TensorList& in) {
        return std::optional<TensorList>(TensorList{in[0], in[0]});
      });
  CHECK_ERROR_CONTAINS(
      fc(x), "Linear: forward pre-hook 0 returned 2 tensor(s)",
      "1 Tensor argument(s)");
  two.remove();
  RemovableHandle none = fc->register_forward_hook(
      [](Module&, const TensorList&, const TensorList&) {
        return std::optional<TensorList>(TensorList{});
      });
  CHECK_ERROR_CONTAINS(
      fc(x), "Linear: forward hook 1 returned 0 tensor(s) to replace 1");
  none.remove();
  CHECK(bit_equal(fc(x), fc->forward(x)));
  // Empty std::functions are refused at registration.
  CHECK_ERROR_CONTAINS(
      fc->register_forward_pre_hook(ForwardPreHook()), "Linear",
      "register_forward_pre_hook: the hook is empty");
  CHECK_ERROR_CONTAINS(
      fc->register_forward_hook(ForwardHook()), "Linear",
      "register_forward_hook: the hook is empty");
}

TEST_CASE("module hooks: children of Sequential, ModuleList and AnyModule") {
  Linear a(3, 4), c(4, 2);
  Sequential seq(a, ReLU(), c);
  Log log;
  seq->register_forward_pre_hook(
      [&](Module& m, const TensorList&) { log.push_back(m.name() + " pre"); });
  seq->register_forward_hook(
      [&](Module& m, const TensorList&, const TensorList&) {
        log.push_back(m.name() + " post");
      });
  a->register_forward_hook(
      [&](Module&, const TensorList&, const TensorList& out) {
        log.push_back("a " + shape_str(out[0].shape()));
      });
  c->register_forward_pre_hook([&](Module&, const TensorList& in) {
    log.push_back("c pre");
    return std::optional<TensorList>(TensorList{zeros_like(in[0])});
  });
  const Tensor x = randn({5, 3});
  const Tensor y = seq(x);
  CHECK(log == Log{"Sequential pre", "a [5, 4]", "c pre", "Sequential post"});
  // c saw zeros: its output is its bias on every row.
  CHECK(bit_equal(y, c->forward(zeros({5, 4}))));

  log.clear();
  ModuleList list(a, c);
  Tensor h = x;
  for (const auto& block : *list)
    h = block(h);
  CHECK(log == Log{"a [5, 4]", "c pre"});
  log.clear();
  AnyModule any(a);
  any(x);
  CHECK(log == Log{"a [5, 4]"});
}

TEST_CASE("module hooks: any arguments, and tuple, pair and other results") {
  // Only Tensor arguments are shown and replaced; the double passes through.
  AffineMix mix;
  TensorList seen;
  mix->register_forward_pre_hook([&](Module&, const TensorList& in) {
    seen = in;
    return std::optional<TensorList>(TensorList{in[0], in[1] * 10.0});
  });
  const Tensor a = randn({3}), b = randn({3});
  CHECK(bit_equal(mix(a, 2.0, b), a * 2.0 + b * 10.0));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].impl() == a.impl());
  CHECK(seen[1].impl() == b.impl());

  SplitTuple split;
  size_t outputs = 0;
  split->register_forward_hook(
      [&](Module&, const TensorList&, const TensorList& out) {
        outputs = out.size();
        return std::optional<TensorList>(TensorList{out[0], out[1] * 0.0});
      });
  const std::tuple<Tensor, Tensor> parts = split(a);
  CHECK(outputs == 2);
  CHECK(bit_equal(std::get<0>(parts), a * 2.0));
  CHECK(abs(std::get<1>(parts)).sum().item() == 0.0);

  SplitPair pair;
  pair->register_forward_hook(
      [](Module&, const TensorList&, const TensorList& out) {
        return std::optional<TensorList>(TensorList{out[1], out[0]});
      });
  const std::pair<Tensor, Tensor> swapped = pair(a);
  CHECK(bit_equal(swapped.first, a * 3.0));
  CHECK(bit_equal(swapped.second, a - 1.0));

  // A result hooks cannot see: they get no outputs and cannot replace it.
  Count count;
  RemovableHandle look = count->register_forward_hook(
      [&](Module&, const TensorList& in, const TensorList& out) {
        outputs = out.size() + 10 * in.size();
      });
  CHECK(count(a) == 3);
  CHECK(outputs == 10);
  look.remove();
  count->register_forward_hook(
      [](Module&, const TensorList&, const TensorList&) {
        return std::optional<TensorList>(TensorList{zeros({1})});
      });
  CHECK_ERROR_CONTAINS(
      count(a), "Count: forward hook 0 returned 1 tensor(s) to replace 0");

  // A by-value parameter called with a temporary; a replacement reaches it.
  ByValue by_value;
  by_value->register_forward_pre_hook([](Module&, const TensorList& in) {
    return std::optional<TensorList>(TensorList{in[0] * 2.0});
  });
  CHECK(bit_equal(by_value(ones({2})), full({2}, 3.0)));

  // A forward returning nothing.
  NoResult none;
  int posts = 0;
  none->register_forward_pre_hook([](Module&, const TensorList& in) {
    return std::optional<TensorList>(TensorList{in[0] + 1.0});
  });
  none->register_forward_hook(
      [&](Module&, const TensorList&, const TensorList& out) {
        posts += 1 + static_cast<int>(out.size());
      });
  none(zeros({2}));
  CHECK(posts == 1);
  CHECK(bit_equal(none->seen, ones({2})));

  // ConvTranspose3d's forward(x, output_size): the size passes through.
  ConvTranspose3d up(ConvTranspose3dOptions(1, 1, 3).stride(2));
  size_t inputs = 0;
  up->register_forward_pre_hook(
      [&](Module&, const TensorList& in) { inputs = in.size(); });
  const Tensor u = up(randn({1, 1, 2, 2, 2}), std::vector<int64_t>{6, 6, 6});
  CHECK(inputs == 1);
  CHECK(u.shape() == Shape{1, 1, 6, 6, 6});
}

}  // namespace voxgrad::nn
