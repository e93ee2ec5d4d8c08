// nn::InstanceNorm3d and functional::instance_norm: per-instance statistics,
// PyTorch's running-stat rule (the batch average of the per-instance
// statistics), eval with and without running stats, unbatched inputs,
// gradients and errors. PyTorch parity is in test_kit_golden.cpp.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("InstanceNorm3d: each (sample, channel) normalised on its own") {
  Generator gen(31);
  InstanceNorm3d in(3);  // PyTorch's defaults: no affine, no running stats
  CHECK(in->state_dict().empty());
  in->to(kFloat64);
  const Tensor x = randn({2, 3, 2, 3, 4}, kFloat64, &gen) * 3.0 + 1.0;
  const Tensor y = in(x).reshape({6, 24});
  CHECK(amax(abs(mean(y, {1}))).item() < 1e-12);
  CHECK(amax(abs(mean(y * y, {1}) - 1.0)).item() < 1e-4);
  // Without running stats, eval is training's computation.
  const Tensor yt = in(x);
  in->eval();
  CHECK(test::bit_equal(in(x), yt));
  // Unbatched: the same as a batch of one.
  CHECK(test::bit_equal(in(x.select(0, 1)), in(x).select(0, 1)));
  // It is GroupNorm with one channel per group.
  GroupNorm gn(GroupNormOptions(3, 3).affine(false));
  gn->to(kFloat64);
  CHECK(test::max_abs_diff(in(x), gn(x)) < 1e-12);
}

TEST_CASE("InstanceNorm3d: running stats average the instances (PyTorch)") {
  Generator gen(32);
  InstanceNorm3d in(
      InstanceNorm3dOptions(2).affine(true).track_running_stats(true).momentum(
          0.25));
  CHECK(in->state_dict().size() == 5);  // weight, bias, running_mean/var, count
  CHECK(in->named_buffers()[2].first == "num_batches_tracked");
  in->to(kFloat64);
  const Tensor x = randn({3, 2, 2, 2, 3}, kFloat64, &gen) * 2.0 + 0.5;
  in(x);
  const Tensor per_mean = mean(x, {2, 3, 4});                   // (N, C)
  const Tensor per_var = var(x, {2, 3, 4}, /*unbiased=*/true);  // (N, C)
  CHECK(
      test::max_abs_diff(in->running_mean(), mean(per_mean, {0}) * 0.25) <
      1e-12);
  CHECK(
      test::max_abs_diff(in->running_var(), mean(per_var, {0}) * 0.25 + 0.75) <
      1e-12);
  CHECK(in->num_batches_tracked().item() == 0);  // PyTorch never counts
  // eval uses the running stats: an affine map per channel
  in->eval();
  const Tensor y = in(x);
  const Tensor want =
      (x - in->running_mean().reshape({1, 2, 1, 1, 1})) /
          sqrt(in->running_var().reshape({1, 2, 1, 1, 1}) + 1e-5) *
          in->weight().reshape({1, 2, 1, 1, 1}) +
      in->bias().reshape({1, 2, 1, 1, 1});
  CHECK(test::max_abs_diff(y, want) < 1e-12);
  const Tensor xs = randn({2, 2, 2, 1, 2}, kFloat64, &gen).requires_grad_();
  for (bool train : {true, false}) {
    in->train(train);
    auto fn = [&](const TensorList& t) { return in(t[0]); };
    CHECK(gradcheck(fn, {xs}));
    CHECK(gradgradcheck(fn, {xs}));
  }
  std::ostringstream os;
  os << InstanceNorm3d(4);
  CHECK(
      os.str() ==
      "InstanceNorm3d(4, eps=1e-05, momentum=0.1, affine=false, "
      "track_running_stats=false)  # 0 parameters");
}

TEST_CASE("InstanceNorm3d: errors name the module, the value and the rule") {
  InstanceNorm3d in(InstanceNorm3dOptions(4).affine(true));
  CHECK_ERROR_CONTAINS(in(zeros({2, 4, 3})), "InstanceNorm3d", "[2, 4, 3]");
  CHECK_ERROR_CONTAINS(in(zeros({2, 3, 2, 2, 2})), "num_features 4", "[2, 3");
  CHECK_ERROR_CONTAINS(
      in(zeros({2, 4, 1, 1, 1})), "more than 1 spatial element");
  CHECK_ERROR_CONTAINS(in(zeros({4, 2, 2, 2}, kFloat64)), "float64");
  // Without per-channel state another channel count works (PyTorch warns).
  CHECK(
      InstanceNorm3d(4)(ones({1, 3, 2, 2, 2})).shape() == Shape{1, 3, 2, 2, 2});
  CHECK_ERROR_CONTAINS(InstanceNorm3d(0), "num_features", ">= 1");
  CHECK_ERROR_CONTAINS(
      functional::instance_norm(
          zeros({2, 3, 4}),
          functional::InstanceNormFuncOptions().use_input_stats(false)),
      "running_mean and running_var");
}

}  // namespace voxgrad::nn
