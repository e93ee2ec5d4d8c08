// nn::BatchNorm3d and nn::GroupNorm: PyTorch's names, defaults and
// running-stat rules, gradients (float64 gradcheck, double backward) and
// errors. PyTorch parity is in test_nn_golden.cpp.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

std::vector<std::string> keys(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& kv : named)
    out.push_back(kv.first);
  return out;
}

/// Per-channel mean and unbiased variance of a (N, C, D, H, W) tensor.
std::pair<Tensor, Tensor> channel_stats(const Tensor& x) {
  return {mean(x, {0, 2, 3, 4}), var(x, {0, 2, 3, 4}, /*unbiased=*/true)};
}

}  // namespace

TEST_CASE("BatchNorm3d: PyTorch's parameters, buffers and defaults") {
  BatchNorm3d bn(4);
  CHECK(
      keys(bn->state_dict()) == std::vector<std::string>{
                                    "weight", "bias", "running_mean",
                                    "running_var", "num_batches_tracked"});
  CHECK(bn->weight().to_vector<float>() == std::vector<float>(4, 1.0f));
  CHECK(bn->bias().to_vector<float>() == std::vector<float>(4, 0.0f));
  CHECK(bn->running_mean().to_vector<float>() == std::vector<float>(4, 0.0f));
  CHECK(bn->running_var().to_vector<float>() == std::vector<float>(4, 1.0f));
  CHECK(bn->num_batches_tracked().dim() == 0);
  CHECK(bn->num_batches_tracked().item() == 0);
  BatchNorm3d bare(
      BatchNorm3dOptions(4).affine(false).track_running_stats(false));
  CHECK(bare->state_dict().empty());
  std::ostringstream os;
  os << bn;
  CHECK(
      os.str() ==
      "BatchNorm3d(4, eps=1e-05, momentum=0.1, affine=true, "
      "track_running_stats=true; weight [4], bias [4])  # 8 parameters");
  std::ostringstream os2;
  os2 << BatchNorm3d(BatchNorm3dOptions(2).momentum(std::nullopt).eps(1e-3));
  CHECK(os2.str().find("eps=0.001, momentum=None") != std::string::npos);
}

TEST_CASE("BatchNorm3d: training normalises per channel, updates stats") {
  Generator gen(11);
  BatchNorm3d bn(BatchNorm3dOptions(3).momentum(0.25));
  const Tensor rm = bn->running_mean(), rv = bn->running_var();
  const Tensor x = randn({2, 3, 2, 3, 4}, kFloat32, &gen) * 3.0 + 1.0;
  const Tensor y = bn(x);
  // Output: zero mean and unit (biased) variance per channel.
  CHECK(amax(abs(mean(y, {0, 2, 3, 4}))).item() < 1e-5);
  CHECK(
      amax(abs(var(y, {0, 2, 3, 4}, false) - 1.0)).item() <
      1e-3);  // eps = 1e-5
  // Running stats: in place (same handles), momentum, unbiased variance.
  auto [m, v] = channel_stats(x);
  CHECK(test::allclose(bn->running_mean(), m * 0.25, 1e-6, 1e-5));
  CHECK(test::allclose(bn->running_var(), v * 0.25 + 0.75, 1e-6, 1e-5));
  CHECK(bn->running_mean().shares_storage_with(rm));
  CHECK(bn->running_var().shares_storage_with(rv));
  CHECK(bn->num_batches_tracked().item() == 1);
  CHECK_FALSE(bn->running_mean().requires_grad());
  // Eval uses the running stats and leaves them alone.
  bn->eval();
  const Tensor before = bn->running_mean().clone();
  const Tensor ye = bn(x);
  CHECK(test::bit_equal(bn->running_mean(), before));
  CHECK(bn->num_batches_tracked().item() == 1);
  const Tensor expect = (x - bn->running_mean().reshape({1, 3, 1, 1, 1})) /
                        sqrt(bn->running_var().reshape({1, 3, 1, 1, 1}) + 1e-5);
  CHECK(test::allclose(ye, expect, 1e-5, 1e-5));
}

TEST_CASE("BatchNorm3d: momentum None is a cumulative average") {
  Generator gen(12);
  BatchNorm3d bn(BatchNorm3dOptions(2).momentum(std::nullopt));
  std::vector<Tensor> xs;
  for (int i = 0; i < 3; ++i)
    xs.push_back(randn({2, 2, 2, 2, 3}, kFloat64, &gen) + double(i));
  bn->to(kFloat64);
  for (const Tensor& x : xs)
    bn(x);
  Tensor m_avg = zeros({2}, kFloat64), v_avg = zeros({2}, kFloat64);
  for (const Tensor& x : xs) {
    auto [m, v] = channel_stats(x);
    m_avg = m_avg + m / 3.0;
    v_avg = v_avg + v / 3.0;
  }
  // The first batch replaces the initial (0, 1) entirely (factor 1/1).
  CHECK(test::allclose(bn->running_mean(), m_avg, 1e-12, 1e-12));
  CHECK(test::allclose(bn->running_var(), v_avg, 1e-12, 1e-12));
  CHECK(bn->num_batches_tracked().item() == 3);
}

TEST_CASE("BatchNorm3d: without running stats, eval uses the batch") {
  Generator gen(13);
  BatchNorm3d bn(BatchNorm3dOptions(3).track_running_stats(false));
  const Tensor x = randn({2, 3, 2, 2, 2}, kFloat32, &gen);
  const Tensor yt = bn(x);
  bn->eval();
  CHECK(test::bit_equal(bn(x), yt));
  CHECK_FALSE(bn->running_mean().defined());
}

TEST_CASE("BatchNorm3d: float64 gradcheck in train and eval, double backward") {
  Generator gen(14);
  BatchNorm3d bn(3);
  bn->to(kFloat64);
  {
    NoGradGuard g;
    Tensor(bn->weight()).copy_(randn({3}, kFloat64, &gen));
    Tensor(bn->bias()).copy_(randn({3}, kFloat64, &gen));
    Tensor(bn->running_mean()).copy_(randn({3}, kFloat64, &gen));
    Tensor(bn->running_var()).copy_(rand({3}, kFloat64, &gen) + 0.5);
  }
  const Tensor x = randn({2, 3, 2, 1, 2}, kFloat64, &gen).requires_grad_();
  auto fn = [&](const TensorList& in) {
    // The running stats change on every call in training; gradients do not
    // depend on them, so that is harmless here.
    return functional::batch_norm(
        in[0], {}, {}, in[1], in[2], /*training=*/true, 0.1, 1e-5);
  };
  const TensorList args{x, bn->weight(), bn->bias()};
  CHECK(gradcheck(fn, args));
  CHECK(gradgradcheck(fn, args));
  bn->eval();
  CHECK(gradcheck([&](const TensorList& in) { return bn(in[0]); }, {x}));
  bn->train();
  CHECK(gradcheck([&](const TensorList& in) { return bn(in[0]); }, {x}));
}

TEST_CASE("BatchNorm3d: errors name the module, the value and the rule") {
  BatchNorm3d bn(16);
  CHECK_ERROR_CONTAINS(
      bn(zeros({2, 8, 4, 4, 4})),
      "BatchNorm3d: expected a 5-D input (N, C, D, H, W) with C = 16, got [2, "
      "8, 4, 4, 4]");
  CHECK_ERROR_CONTAINS(bn(zeros({2, 16, 4, 4})), "5-D", "[2, 16, 4, 4]");
  CHECK_ERROR_CONTAINS(
      bn(zeros({1, 16, 1, 1, 1})), "more than 1 value per channel");
  CHECK(bn->num_batches_tracked().item() == 0);  // nothing counted on error
  CHECK_ERROR_CONTAINS(
      bn(zeros({2, 16, 1, 1, 2}, kFloat64)), "float64", "float32");
  CHECK_ERROR_CONTAINS(BatchNorm3d(0), "num_features", ">= 1");
  CHECK_ERROR_CONTAINS(BatchNorm3d(BatchNorm3dOptions(2).eps(-1)), "eps", "-1");
  CHECK_ERROR_CONTAINS(
      functional::batch_norm(zeros({2, 3, 4}), zeros({4}), ones({3})),
      "batch_norm", "running_mean", "[3]", "[4]");
  CHECK_ERROR_CONTAINS(
      functional::batch_norm(zeros({2, 3, 4}), {}, {}),
      "running_mean and running_var");
  bn->eval();
  CHECK(bn(zeros({1, 16, 1, 1, 1})).shape() == Shape{1, 16, 1, 1, 1});
}

TEST_CASE("GroupNorm: statistics per (sample, group), affine per channel") {
  Generator gen(15);
  GroupNorm gn(GroupNormOptions(2, 4).eps(0));
  CHECK(keys(gn->state_dict()) == std::vector<std::string>{"weight", "bias"});
  const Tensor x = randn({3, 4, 2, 3, 2}, kFloat64, &gen) * 2.0 + 5.0;
  gn->to(kFloat64);
  const Tensor y = gn(x).reshape({3, 2, -1});
  CHECK(amax(abs(mean(y, {2}))).item() < 1e-12);
  CHECK(amax(abs(var(y, {2}, false) - 1.0)).item() < 1e-12);
  gn->eval();  // no mode dependence
  CHECK(test::bit_equal(gn(x), gn(x)));
  std::ostringstream os;
  os << GroupNorm(4, 16);
  CHECK(
      os.str() ==
      "GroupNorm(4, 16, eps=1e-05, affine=true; weight [16], bias [16])  # 32 "
      "parameters");
  CHECK(GroupNorm(GroupNormOptions(1, 3).affine(false))->state_dict().empty());
}

TEST_CASE("GroupNorm: float64 gradcheck and double backward") {
  Generator gen(16);
  const Tensor x = randn({2, 4, 3, 1, 2}, kFloat64, &gen).requires_grad_();
  const Tensor w = randn({4}, kFloat64, &gen).requires_grad_();
  const Tensor b = randn({4}, kFloat64, &gen).requires_grad_();
  auto fn = [](const TensorList& in) {
    return functional::group_norm(in[0], 2, in[1], in[2], 1e-5);
  };
  CHECK(gradcheck(fn, {x, w, b}));
  CHECK(gradgradcheck(fn, {x, w, b}));
}

TEST_CASE("GroupNorm: errors") {
  CHECK_ERROR_CONTAINS(
      GroupNorm(3, 16), "num_channels (16)", "multiple of num_groups (3)");
  GroupNorm gn(4, 16);
  CHECK_ERROR_CONTAINS(
      gn(zeros({2, 8, 4, 4, 4})), "GroupNorm", "C = 16", "[2, 8, 4, 4, 4]");
  CHECK_ERROR_CONTAINS(gn(zeros({16})), "GroupNorm", "[16]");
  CHECK_ERROR_CONTAINS(
      functional::group_norm(zeros({2, 6, 3}), 4), "group_norm", "(6)", "(4)");
  CHECK_ERROR_CONTAINS(
      functional::group_norm(zeros({2, 6, 3}), 3, ones({5})), "group_norm",
      "weight", "[6]", "[5]");
}

}  // namespace voxgrad::nn
