// The ```cpp usage examples of voxgrad/nn/distributed/'s headers, verbatim
// (ctest docs_snippets_in_sync checks that), compiled here and run by every
// rank of the mpirun job (the examples call collectives), one function per
// example given the names it uses. communicator.hpp's `main` is compiled
// only: its run() would initialise MPI, which this binary's main already
// has. The copies are not clang-formatted, so that they stay the headers'
// text. Edit a header's example and its copy together.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// clang-format off
// ---- voxgrad/nn/distributed/distributed.hpp
#include <voxgrad/nn/distributed/distributed.hpp>
// clang-format on

#include "dist_test_util.hpp"

namespace voxgrad::distributed::doc_examples {

// ---- voxgrad/nn/distributed/communicator.hpp (not called; not in the
// anonymous namespace, which would make an unused function a warning)
namespace communicator_hpp {
// clang-format off
int main() {
  return distributed::run("train", [](distributed::Communicator& comm) {
    std::cout << "rank " << comm.rank() << " of " << comm.size() << "\n";
    return 0;
  });
}
// clang-format on
}  // namespace communicator_hpp

namespace {

// clang-format off

// ---- voxgrad/nn/distributed/data_parallel.hpp
template <class Loss>
void data_parallel_hpp(
    const std::shared_ptr<nn::SequentialImpl>& model, optim::Optimizer& opt,
    const Communicator& comm, int steps, Loss loss_on_my_shard) {
distributed::DistributedDataParallel ddp(*model, comm);
for (int step = 0; step < steps; ++step) {
  opt.zero_grad();
  loss_on_my_shard(*model).backward();  // buckets start reducing here
  ddp.synchronize_gradients();          // every .grad() is the average
  opt.step();
}
}

DataParallelOptions data_parallel_options_hpp() {
auto options = distributed::DataParallelOptions().bucket_cap_mb(4).overlap(
    true).broadcast_buffers(true);
  return options;
}

// ---- voxgrad/nn/distributed/main_rank.hpp
void main_out_hpp(const Communicator& comm, int step) {
distributed::main_out(comm) << "step " << step << std::endl;
}

void save_on_main_hpp(
    const Communicator& comm, const nn::Module& model,
    const optim::Optimizer& opt, const nlohmann::json& meta) {
distributed::save_on_main(comm, "run/ckpt.json", model, &opt, meta);
}

// ---- voxgrad/nn/distributed/sampler.hpp
DistributedSampler sampler_hpp(
    const Communicator& comm, int64_t dataset_size, uint64_t seed) {
DistributedSampler s(dataset_size, comm.rank(), comm.size(), seed);
  return s;
}

// ---- voxgrad/nn/distributed/sync_batch_norm.hpp
Tensor all_reduce_sum_hpp(const Tensor& x, const Communicator& comm) {
Tensor total = distributed::all_reduce_sum(x.sum({0}), comm);
  return total;
}

Tensor sync_batch_norm_hpp(const Tensor& x, const Communicator& comm) {
distributed::SyncBatchNorm3d bn(nn::BatchNorm3dOptions(16), comm);
  return bn(x);
}

// clang-format on

using test::comm;

}  // namespace

TEST_CASE("header examples: data_parallel.hpp's loop keeps replicas equal") {
  // Every rank starts from another seed: DDP copies rank 0's weights.
  auto model =
      test::toy_model(5 + static_cast<uint64_t>(comm().rank()), kFloat32);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1));
  const test::ToyData data(2 * comm().size(), kFloat32, 8);
  const int64_t r = comm().rank();
  data_parallel_hpp(model, opt, comm(), 3, [&](nn::SequentialImpl& m) {
    const auto [x, y] = data.rows({2 * r, 2 * r + 1});  // this rank's shard
    const Tensor out = m.forward(x);
    return ((out - y) * (out - y)).mean();
  });
  double sum = 0;
  for (const Tensor& p : model->parameters())
    sum += p.sum().item();
  // The same parameters on every rank (each started from its own seed):
  // every rank sees the same sums.
  CHECK(std::isfinite(sum));
  std::vector<double> sums(static_cast<size_t>(comm().size()), 0.0);
  sums[static_cast<size_t>(r)] = sum;
  comm().all_reduce_sum(sums);
  for (double s : sums)
    CHECK(std::abs(s - sums[0]) <= 1e-6 * (1.0 + std::abs(sums[0])));

  const DataParallelOptions options = data_parallel_options_hpp();
  DataParallelOptions defaults;
  CHECK(options.bucket_cap_mb() == defaults.bucket_cap_mb());
  CHECK(options.overlap() == defaults.overlap());
  CHECK(options.broadcast_buffers() == defaults.broadcast_buffers());
}

TEST_CASE("header examples: main_rank.hpp's log line and checkpoint") {
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  main_out_hpp(comm(), 3);
  std::cout.rdbuf(old);
  CHECK(out.str() == (comm().is_main() ? "step 3\n" : ""));

  // One folder for the job (the ranks share this host's file system).
  std::string dir;
  if (comm().is_main()) {
    char tmpl[] = "/tmp/voxgrad_dist_doc_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    std::filesystem::create_directories(dir + "/run");
  }
  dir = comm().broadcast_string(dir);
  {
    test::CurrentDir cd(dir);
    auto model = test::toy_model(3, kFloat32);
    optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
    save_on_main_hpp(comm(), *model, opt, {{"step", 3}});
    auto loaded = test::toy_model(4, kFloat32);
    optim::Adam opt2(loaded->parameters(), optim::AdamOptions(1e-3));
    CHECK(load("run/ckpt.json", *loaded, &opt2)["step"] == 3);
    CHECK(test::max_state_diff(*loaded, *model) == 0.0);
    comm().barrier();  // everyone has read it before it goes
  }
  if (comm().is_main())
    std::filesystem::remove_all(dir);
}

TEST_CASE("header examples: sampler.hpp and sync_batch_norm.hpp") {
  const DistributedSampler s = sampler_hpp(comm(), 10, 7);
  const int64_t w = comm().size();
  CHECK(s.num_samples() == (10 + w - 1) / w);  // padded to even out
  CHECK(static_cast<int64_t>(s.indices().size()) == s.num_samples());

  const double r = comm().rank() + 1.0;
  const Tensor total = all_reduce_sum_hpp(full({2, 3}, r, kFloat64), comm());
  // Each rank's column sums are 2 (rank + 1); summed: w (w + 1).
  CHECK(test::allclose(
      total, full({3}, static_cast<double>(w * (w + 1)), kFloat64)));

  manual_seed(static_cast<uint64_t>(comm().rank()));
  const Tensor y = sync_batch_norm_hpp(randn({2, 16, 2, 2, 2}), comm());
  CHECK(y.shape() == Shape{2, 16, 2, 2, 2});
  // Normalised over every rank's batch: per channel, the mean over the
  // whole job is 0 (weight 1, bias 0).
  const Tensor channel_sums =
      distributed::all_reduce_sum(y.sum({0, 2, 3, 4}), comm());
  CHECK(test::allclose(channel_sums, zeros({16}), 1e-4, 1e-4));
}

}  // namespace voxgrad::distributed::doc_examples
