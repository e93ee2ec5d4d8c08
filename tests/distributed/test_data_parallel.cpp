// DistributedDataParallel: W ranks x B/W against 1 rank x B, buckets and
// overlap, the initial broadcast, mismatched models, no_sync, unequal
// shards, unused parameters, and rank-0 checkpoints.

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "dist_test_util.hpp"

namespace voxgrad::test {
namespace {

using distributed::DataParallelOptions;
using distributed::DistributedDataParallel;
using distributed::DistributedSampler;

Tensor mse(const Tensor& pred, const Tensor& y) {
  return pow(pred - y, 2.0).mean();
}

/// `steps` Adam steps of global batch `batch` (a multiple of the world
/// size) over the permutation of DistributedSampler: one process with the
/// whole batch when ddp is null, else this rank's shard through ddp.
void train(
    nn::SequentialImpl& model,
    const ToyData& data,
    int64_t batch,
    int64_t steps,
    DistributedDataParallel* ddp) {
  const int world = ddp ? comm().size() : 1, rank = ddp ? comm().rank() : 0;
  REQUIRE(batch % world == 0);
  const int64_t b = batch / world;
  DistributedSampler sampler(data.x.size(0), rank, world, /*seed=*/7);
  REQUIRE(steps * b <= sampler.num_samples());
  const std::vector<int64_t> mine = sampler.indices();
  optim::Adam opt(model.parameters(), optim::AdamOptions(1e-2));
  for (int64_t k = 0; k < steps; ++k) {
    const auto [x, y] =
        data.rows({mine.begin() + k * b, mine.begin() + (k + 1) * b});
    opt.zero_grad();
    mse(model.forward(x), y).backward();
    if (ddp)
      ddp->synchronize_gradients();
    opt.step();
  }
}

}  // namespace

TEST_CASE("data parallel W ranks x B over W match 1 rank x B after 10 steps") {
  const int64_t batch = 12, steps = 10;  // 12: divisible by 1, 2, 3, 4, 6
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    const std::string dtype_str = dtype_name(dtype);
    CAPTURE(dtype_str);
    const ToyData data(batch * steps, dtype, 3);
    auto ref = toy_model(11, dtype);
    train(*ref, data, batch, steps, nullptr);
    auto model = toy_model(11, dtype);
    DistributedDataParallel ddp(*model, comm());
    train(*model, data, batch, steps, &ddp);
    const double diff = max_over_ranks(max_state_diff(*model, *ref));
    const double moved = max_state_diff(*model, *toy_model(11, dtype));
    if (comm().is_main())
      MESSAGE(
          comm().size(), " ranks vs 1, ", dtype_str, ", ", steps,
          " Adam steps: max |param diff| = ", diff, " (params moved by ", moved,
          ")");
    CHECK(moved > 1e-2);  // training did something
    CHECK(diff < (dtype == kFloat32 ? 1e-6 : 1e-12));
    CHECK(ddp.replicas_identical());
  }
}

TEST_CASE("data parallel bucket size and overlap do not change the result") {
  const ToyData data(60, kFloat32, 4);
  std::vector<std::shared_ptr<nn::SequentialImpl>> models;
  for (const auto& options :
       {DataParallelOptions(), DataParallelOptions().bucket_cap_mb(0.0005),
        DataParallelOptions().overlap(false)}) {
    models.push_back(toy_model(5, kFloat32));
    DistributedDataParallel ddp(*models.back(), comm(), options);
    if (options.bucket_cap_mb() < 0.001) {
      // Reverse registration order, a new bucket when 524 bytes would
      // be exceeded.
      REQUIRE(ddp.num_buckets() == 3);
      CHECK(
          ddp.bucket_parameter_names(0) == std::vector<std::string>{"3.bias"});
      CHECK(
          ddp.bucket_parameter_names(1) ==
          std::vector<std::string>{"3.weight"});
      CHECK(
          ddp.bucket_parameter_names(2) ==
          std::vector<std::string>{"0.bias", "0.weight"});
    } else {
      CHECK(ddp.num_buckets() == 1);
    }
    train(*models.back(), data, 2 * comm().size(), 6, &ddp);
  }
  // Each element is reduced alone whatever the bucketing; with two ranks
  // a + b is even bit-identical (more ranks may use other reduction
  // orders for other message sizes).
  const double tol = comm().size() <= 2 ? 0.0 : 1e-6;
  CHECK(max_state_diff(*models[0], *models[1]) <= tol);
  CHECK(max_state_diff(*models[0], *models[2]) <= tol);
}

TEST_CASE(
    "data parallel starts every rank from rank 0's parameters and buffers") {
  auto bn = [] {
    return std::make_shared<nn::BatchNorm3dImpl>(nn::BatchNorm3dOptions(4));
  };
  // Different initialisation on every rank, and different buffers.
  auto model =
      toy_model(100 + static_cast<uint64_t>(comm().rank()), kFloat32, bn);
  {
    NoGradGuard g;
    model->named_buffers()[0].second.fill_(static_cast<double>(comm().rank()));
  }
  DistributedDataParallel ddp(*model, comm());
  auto rank0 = toy_model(100, kFloat32, bn);
  {
    NoGradGuard g;
    rank0->named_buffers()[0].second.fill_(0.0);
  }
  CHECK(max_state_diff(*model, *rank0) == 0.0);
  CHECK(ddp.replicas_identical());
}

TEST_CASE("data parallel refuses a model that differs between ranks") {
  if (comm().size() == 1)
    return;
  nn::Linear m(3, comm().rank() == 0 ? 4 : 5);
  // Every rank sees the same gathered fingerprints, so all fail alike.
  CHECK_ERROR_CONTAINS(
      DistributedDataParallel(m, comm()), "the model differs between ranks",
      "rank 1 (2 tensors, 20 elements)", "rank 0 has 2 tensors, 16 elements");
}

TEST_CASE("data parallel no_sync accumulates micro-batches locally") {
  const ToyData data(8 * comm().size(), kFloat64, 6);
  const int64_t first = 4 * comm().rank();
  const auto [x1, y1] = data.rows({first, first + 1});
  const auto [x2, y2] = data.rows({first + 2, first + 3});
  auto a = toy_model(8, kFloat64);
  auto b = toy_model(8, kFloat64);
  DistributedDataParallel da(*a, comm()), db(*b, comm());
  {
    auto guard = da.no_sync();
    mse(a->forward(x1), y1).backward();
  }
  mse(a->forward(x2), y2).backward();
  da.synchronize_gradients();
  (mse(b->forward(x1), y1) + mse(b->forward(x2), y2)).backward();
  db.synchronize_gradients();
  for (size_t i = 0; i < a->parameters().size(); ++i)
    CHECK(
        max_abs_diff(a->parameters()[i].grad(), b->parameters()[i].grad()) <
        1e-14);
}

TEST_CASE("data parallel starts bucket all-reduces during backward") {
  const ToyData data(2, kFloat32, 14);
  for (const bool overlap : {true, false}) {
    auto model = toy_model(14, kFloat32);
    DistributedDataParallel ddp(
        *model, comm(),
        DataParallelOptions().bucket_cap_mb(0.0005).overlap(overlap));
    REQUIRE(ddp.num_buckets() == 3);
    mse(model->forward(data.x), data.y).backward();
    // Every parameter got its gradient, so with overlap every bucket is
    // already in flight when backward returns; without, none is.
    CHECK(ddp.num_buckets_started() == (overlap ? 3 : 0));
    ddp.synchronize_gradients();
    CHECK(ddp.num_buckets_started() == 0);
  }
}

TEST_CASE("data parallel rejects a second backward before synchronizing") {
  const ToyData data(2, kFloat32, 9);
  auto model = toy_model(9, kFloat32);
  DistributedDataParallel ddp(*model, comm());
  mse(model->forward(data.x), data.y).backward();
  CHECK_ERROR_CONTAINS(
      mse(model->forward(data.x), data.y).backward(),
      "after its bucket's all-reduce had started", "no_sync()");
  ddp.synchronize_gradients();  // completes the round that was started
}

TEST_CASE("data parallel gradient shares handle unequal shards exactly") {
  // Global batch 2W + 1: rank 0 holds 3 items, the others 2.
  const int w = comm().size();
  const int64_t batch = 2 * w + 1, steps = 5;
  const ToyData data(batch * steps, kFloat64, 10);
  const std::vector<int64_t> order =
      DistributedSampler::permutation(batch * steps, 10, 0);
  auto ref = toy_model(12, kFloat64);
  auto model = toy_model(12, kFloat64);
  DistributedDataParallel ddp(*model, comm());
  const int64_t first = comm().rank() == 0 ? 0 : 3 + 2 * (comm().rank() - 1);
  const int64_t count = comm().rank() == 0 ? 3 : 2;
  ddp.set_gradient_share(
      static_cast<double>(count) / static_cast<double>(batch));
  optim::SGD ref_opt(ref->parameters(), optim::SGDOptions(0.1));
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1));
  for (int64_t k = 0; k < steps; ++k) {
    const auto g = order.begin() + k * batch;
    const auto [x, y] = data.rows({g, g + batch});
    ref_opt.zero_grad();
    mse(ref->forward(x), y).backward();
    ref_opt.step();
    const auto [xs, ys] = data.rows({g + first, g + first + count});
    opt.zero_grad();
    mse(model->forward(xs), ys).backward();
    ddp.synchronize_gradients();
    opt.step();
  }
  CHECK(max_over_ranks(max_state_diff(*model, *ref)) < 1e-13);
  CHECK_ERROR_CONTAINS(ddp.set_gradient_share(-1), "share", "-1");
}

TEST_CASE("data parallel gives a parameter no rank used a zero gradient") {
  struct TwoHeads : nn::Module {
    nn::Linear used = register_module("used", nn::Linear(3, 2));
    nn::Linear unused = register_module("unused", nn::Linear(3, 2));
  } m;
  DistributedDataParallel ddp(m, comm());
  m.used->forward(ones({1, 3})).sum().backward();
  ddp.synchronize_gradients();
  CHECK(test::allclose(m.used->weight().grad(), ones({2, 3})));
  REQUIRE(m.unused->weight().grad().defined());
  CHECK(test::allclose(m.unused->weight().grad(), zeros({2, 3})));
}

TEST_CASE("save_on_main writes once and reports a failure on every rank") {
  std::string dir;
  if (comm().is_main()) {
    char tmpl[] = "/tmp/voxgrad_dist_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  dir = comm().broadcast_string(dir);
  auto model = toy_model(13 + static_cast<uint64_t>(comm().rank()), kFloat32);
  distributed::save_on_main(
      comm(), dir + "/ckpt.json", *model, nullptr, {{"step", 3}});
  auto loaded = toy_model(99, kFloat32);
  CHECK(load(dir + "/ckpt.json", *loaded)["step"] == 3);
  CHECK(max_state_diff(*loaded, *toy_model(13, kFloat32)) == 0.0);
  CHECK_ERROR_CONTAINS(
      distributed::save_on_main(comm(), dir + "/no/such/dir/ckpt.json", *model),
      "save_on_main: rank 0 could not write", "no/such/dir");
  comm().barrier();  // everyone has read the file before it goes
  if (comm().is_main())
    std::filesystem::remove_all(dir);
  distributed::main_out(comm()) << "";
  CHECK(distributed::main_out(comm()).good() == comm().is_main());
}

}  // namespace voxgrad::test
