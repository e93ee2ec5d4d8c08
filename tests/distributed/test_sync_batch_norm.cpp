// SyncBatchNorm3d and the differentiable all_reduce_sum: W ranks holding
// shards of a batch normalise, differentiate and train as one process
// holding the whole batch with nn::BatchNorm3d.

#include "dist_test_util.hpp"

namespace voxgrad::test {
namespace {

using distributed::SyncBatchNorm3d;

/// This rank's rows of a batch of `n` split into contiguous shards.
std::pair<int64_t, int64_t> my_rows(int64_t n) {
  const int64_t w = comm().size(), r = comm().rank();
  const int64_t base = n / w, extra = n % w;
  const int64_t first = r * base + std::min(r, extra);
  return {first, first + base + (r < extra ? 1 : 0)};
}

}  // namespace

TEST_CASE("all_reduce_sum sums over ranks and so does its gradient") {
  const double r = comm().rank() + 1, w = comm().size();
  const double total = w * (w + 1) / 2;  // sum of rank + 1 over ranks
  const Tensor x = full({2, 3}, 1.0, kFloat64).requires_grad_();
  const Tensor y = distributed::all_reduce_sum(x * r, comm());
  CHECK(test::allclose(y, full({2, 3}, total, kFloat64)));
  // L = sum over ranks s of sum(y * (s + 1)): dL/dx_r = r * total.
  (y * r).sum().backward();
  CHECK(test::allclose(x.grad(), full({2, 3}, r * total, kFloat64)));
  {
    NoGradGuard g;
    CHECK_FALSE(distributed::all_reduce_sum(x, comm()).requires_grad());
  }
}

TEST_CASE("SyncBatchNorm3d matches BatchNorm3d over the whole batch") {
  // Odd batch: ranks hold different numbers of samples (some none).
  const int64_t n = 5, c = 3;
  Generator gen(21);
  const Tensor x_all = randn({n, c, 3, 2, 4}, kFloat64, &gen) * 2.0 + 0.5;
  const Tensor coef = randn({n, c, 3, 2, 4}, kFloat64, &gen);
  auto opts = nn::BatchNorm3dOptions(c).momentum(0.3);
  nn::BatchNorm3d ref(opts);
  SyncBatchNorm3d bn(opts, comm());
  ref->to(kFloat64);
  bn->to(kFloat64);
  {
    NoGradGuard g;
    for (auto* m :
         {static_cast<nn::BatchNorm3dImpl*>(ref.get()),
          static_cast<nn::BatchNorm3dImpl*>(bn.get())}) {
      Tensor(m->weight()).copy_(tensor({0.5, 1.5, -1.0}, kFloat64));
      Tensor(m->bias()).copy_(tensor({0.1, 0.0, -0.2}, kFloat64));
    }
  }
  const auto [first, last] = my_rows(n);
  const Tensor xr = x_all.detach().requires_grad_();
  const Tensor y_ref = ref->forward(xr);
  (y_ref * coef).sum().backward();

  const Tensor xs = x_all.slice(0, first, last).contiguous().requires_grad_();
  const Tensor ys = bn->forward(xs);
  // Each rank's loss covers its rows; their sum is the reference loss.
  (ys * coef.slice(0, first, last)).sum().backward();
  if (last > first) {
    CHECK(max_abs_diff(ys, y_ref.slice(0, first, last)) < 1e-12);
    CHECK(max_abs_diff(xs.grad(), xr.grad().slice(0, first, last)) < 1e-12);
  }
  CHECK(max_abs_diff(bn->running_mean(), ref->running_mean()) < 1e-14);
  CHECK(max_abs_diff(bn->running_var(), ref->running_var()) < 1e-14);
  CHECK(bn->num_batches_tracked().item() == 1);
  // weight and bias see only local outputs: their gradients sum up.
  for (const auto& [mine, want] :
       {std::pair{bn->weight(), ref->weight()}, {bn->bias(), ref->bias()}}) {
    Tensor g = mine.grad().clone();
    comm().all_reduce_sum_(g);
    CHECK(max_abs_diff(g, want.grad()) < 1e-12);
  }
  // Eval uses the (identical) running statistics, no communication.
  bn->eval();
  ref->eval();
  CHECK(max_abs_diff(bn->forward(x_all), ref->forward(x_all)) < 1e-14);
  CHECK(bn->name() == "SyncBatchNorm3d");
  CHECK_ERROR_CONTAINS(
      (bn->train(), bn->forward(ones({2, 4, 2, 2, 2}, kFloat64))),
      "SyncBatchNorm3d", "C = 3", "[2, 4, 2, 2, 2]");
}

TEST_CASE("SyncBatchNorm3d under data parallel trains like BatchNorm3d") {
  const int64_t batch = 6 * comm().size(), steps = 6;
  const ToyData data(batch, kFloat64, 30);
  auto ref = toy_model(31, kFloat64, [] {
    return std::make_shared<nn::BatchNorm3dImpl>(nn::BatchNorm3dOptions(4));
  });
  auto model = toy_model(31, kFloat64, [] {
    return std::make_shared<distributed::SyncBatchNorm3dImpl>(
        nn::BatchNorm3dOptions(4), comm());
  });
  // No buffer broadcast: synchronised statistics agree by themselves.
  distributed::DistributedDataParallel ddp(
      *model, comm(),
      distributed::DataParallelOptions().broadcast_buffers(false));
  optim::Adam ref_opt(ref->parameters(), optim::AdamOptions(1e-2));
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  const auto [first, last] = my_rows(batch);
  for (int64_t k = 0; k < steps; ++k) {
    ref_opt.zero_grad();
    pow(ref->forward(data.x) - data.y, 2.0).mean().backward();
    ref_opt.step();
    opt.zero_grad();
    const Tensor xs = data.x.slice(0, first, last);
    pow(model->forward(xs) - data.y.slice(0, first, last), 2.0)
        .mean()
        .backward();
    ddp.synchronize_gradients();
    opt.step();
  }
  const double diff = max_over_ranks(max_state_diff(*model, *ref));
  if (comm().is_main())
    MESSAGE(
        "SyncBatchNorm3d, ", comm().size(),
        " ranks vs BatchNorm3d, 1 rank: ", "max |param/buffer diff| after ",
        steps, " Adam steps = ", diff);
  CHECK(diff < 1e-12);
  CHECK(ddp.replicas_identical());
}

}  // namespace voxgrad::test
