// autograd::checkpoint (activation checkpointing): the same gradients as the
// plain block, less memory held between forward and backward, replayed
// dropout masks, double backward, and refusals.

#include "test_util.hpp"

namespace voxgrad {
namespace {

struct Block : nn::Module {
  nn::Conv3d a, b, c;
  explicit Block(int64_t ch) {
    auto conv = [&](const char* name) {
      return register_module(
          name, nn::Conv3d(nn::Conv3dOptions(ch, ch, 3).padding(1)));
    };
    a = conv("a");
    b = conv("b");
    c = conv("c");
  }
  Tensor forward(const Tensor& x) {
    return x + c(relu(b(relu(a(x)))));
  }
};

Tensor run_chain(
    std::vector<std::shared_ptr<Block>>& blocks, const Tensor& x, bool ckpt) {
  Tensor h = x;
  for (auto& blk : blocks) {
    if (ckpt) {
      h = autograd::checkpoint(
          [blk](const TensorList& in) { return blk->forward(in[0]); }, {h});
    } else {
      h = blk->forward(h);
    }
  }
  return h;
}

}  // namespace

TEST_CASE(
    "checkpoint: gradients of inputs and parameters equal the plain block's") {
  manual_seed(3);
  std::vector<std::shared_ptr<Block>> blocks;
  for (int i = 0; i < 3; ++i)
    blocks.push_back(std::make_shared<Block>(2));
  const Tensor x = randn({1, 2, 6, 6, 6}).requires_grad_();
  auto grads = [&](bool ckpt) {
    for (auto& b : blocks)
      b->zero_grad();
    const Tensor y = run_chain(blocks, x, ckpt);
    TensorList wanted{x};
    for (auto& b : blocks)
      for (const Tensor& p : b->parameters())
        wanted.push_back(p);
    return autograd::grad({pow(y, 2.0).sum()}, wanted);
  };
  const TensorList plain = grads(false), ckpt = grads(true);
  REQUIRE(plain.size() == ckpt.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    CAPTURE(i);
    CHECK(test::bit_equal(plain[i], ckpt[i]));
  }
  // .backward() accumulates into the parameters read inside the blocks.
  for (auto& b : blocks)
    b->zero_grad();
  pow(run_chain(blocks, x, true), 2.0).sum().backward();
  CHECK(test::bit_equal(blocks[0]->a->weight().grad(), plain[1]));
}

TEST_CASE("checkpoint: activations are not kept between forward and backward") {
  manual_seed(4);
  std::vector<std::shared_ptr<Block>> blocks;
  for (int i = 0; i < 6; ++i)
    blocks.push_back(std::make_shared<Block>(4));
  const Tensor x = randn({2, 4, 16, 16, 16}).requires_grad_();
  auto held_after_forward = [&](bool ckpt) {
    const size_t before = memory_allocated();
    const Tensor loss = run_chain(blocks, x, ckpt).sum();
    const size_t held = memory_allocated() - before;
    loss.backward();
    return held;
  };
  const size_t plain = held_after_forward(false);
  const size_t ckpt = held_after_forward(true);
  MESSAGE(
      "bytes held by the graph after forward: plain ", plain, ", checkpointed ",
      ckpt);
  // Plain keeps 3 activations per block (x and the two relu outputs, which
  // the next convs and the relus' backward read); checkpointing keeps only
  // the block outputs.
  CHECK(ckpt * 5 < plain * 2);
}

TEST_CASE("checkpoint: dropout masks are replayed in the recomputation") {
  manual_seed(5);
  const Tensor x = randn({64}).requires_grad_();
  nn::Dropout drop(nn::DropoutOptions(0.5));
  auto fn = [&](const TensorList& in) { return drop(in[0]) * in[0]; };
  manual_seed(11);
  const Tensor gp = autograd::grad({fn({x}).sum()}, {x})[0];
  manual_seed(11);
  const Tensor gc =
      autograd::grad({autograd::checkpoint(fn, {x}).sum()}, {x})[0];
  CHECK(test::bit_equal(gp, gc));
  // Without replay the recomputation draws new masks: another gradient.
  manual_seed(11);
  autograd::CheckpointOptions no_replay;
  no_replay.preserve_rng_state = false;
  const Tensor gn =
      autograd::grad({autograd::checkpoint(fn, {x}, no_replay).sum()}, {x})[0];
  CHECK_FALSE(test::bit_equal(gp, gn));
  // The generator continues where the forward left it, replay or not.
  manual_seed(11);
  (void)fn({x});
  const uint64_t after_plain = default_generator().offset();
  manual_seed(11);
  const Tensor y = autograd::checkpoint(fn, {x});
  y.sum().backward();
  CHECK(default_generator().offset() == after_plain);
}

TEST_CASE("checkpoint: double backward through the recomputation") {
  const Tensor x = randn({5}, kFloat64).requires_grad_();
  auto f = [](const TensorList& in) {
    return autograd::checkpoint(
        [](const TensorList& v) { return tanh(v[0]) * exp(v[0]); }, in);
  };
  CHECK(gradgradcheck(f, {x}));
}

TEST_CASE("checkpoint: refusals and pass-through") {
  const Tensor x = randn({3}).requires_grad_();
  const Tensor outside = x * 2.0;  // history from outside the block
  CHECK_ERROR_CONTAINS(
      autograd::checkpoint(
          [outside](const TensorList& in) { return in[0] * outside; }, {x}),
      "checkpoint", "history from outside the block", "pass it");
  // Under NoGradGuard it is just fn.
  {
    NoGradGuard ng;
    const Tensor y = autograd::checkpoint(
        [](const TensorList& in) { return in[0] * 3.0; }, {x});
    CHECK_FALSE(y.requires_grad());
  }
  // Writing into an input after the forward is refused at backward.
  const Tensor u = randn({3});
  const Tensor w = randn({3}).requires_grad_();
  const Tensor y = autograd::checkpoint(
      [](const TensorList& in) { return in[0] * in[1]; }, {u, w});
  u.fill_(1);
  CHECK_ERROR_CONTAINS(y.sum().backward(), "modified by an in-place operation");
}

}  // namespace voxgrad
