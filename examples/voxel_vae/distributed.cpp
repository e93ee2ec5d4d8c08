#include "distributed.hpp"

#include <algorithm>
#include <iostream>
#include <thread>

#include "voxgrad/core/error.hpp"

#ifdef VOXEL_VAE_WITH_MPI
#include "voxgrad/nn/distributed/distributed.hpp"
#endif

namespace voxgrad::examples {

#ifdef VOXEL_VAE_WITH_MPI

struct DistributedRun::Impl {
  distributed::Environment env;
  distributed::Communicator comm = distributed::Communicator::world();
  std::unique_ptr<distributed::DistributedDataParallel> ddp;
  double share = 1;
  std::streambuf* cout_buf = nullptr;  // restored on exit (non-main ranks)
};

DistributedRun::DistributedRun() : impl_(std::make_unique<Impl>()) {
  if (!impl_->comm.is_main())
    impl_->cout_buf = std::cout.rdbuf(nullptr);  // badbit: writes vanish
}

DistributedRun::~DistributedRun() {
  if (impl_->cout_buf != nullptr) {
    std::cout.rdbuf(impl_->cout_buf);
    std::cout.clear();
  }
  impl_->ddp.reset();  // before MPI goes down with env
}

int DistributedRun::rank() const {
  return impl_->comm.rank();
}

int DistributedRun::world() const {
  return impl_->comm.size();
}

int DistributedRun::threads_per_rank() const {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / impl_->comm.local_size());
}

DataParallel DistributedRun::data_parallel(int64_t batch) {
  DataParallel dp;
  dp.rank = rank();
  dp.world = world();
  // The loss is a mean over this rank's items: weighing each rank by its
  // share of the global batch makes the sum the global batch's gradient,
  // also when the batch does not split evenly.
  const ShardRange mine = shard_range(batch, dp.rank, dp.world);
  impl_->share = static_cast<double>(mine.count) / static_cast<double>(batch);
  dp.average_gradients = [this](nn::Module&) {
    VOXGRAD_CHECK(
        impl_->ddp != nullptr,
        "voxel_vae: DistributedRun::attach() was not called");
    impl_->ddp->synchronize_gradients();
  };
  dp.average_values = [this](std::vector<double>& v) {
    for (double& x : v)
      x *= impl_->share;
    impl_->comm.all_reduce_sum(v);
  };
  return dp;
}

void DistributedRun::attach(nn::Module& model) {
  impl_->ddp = std::make_unique<distributed::DistributedDataParallel>(
      model, impl_->comm);
  impl_->ddp->set_gradient_share(impl_->share);
}

bool DistributedRun::replicas_identical() const {
  return impl_->ddp == nullptr || impl_->ddp->replicas_identical();
}

#else  // built without MPI

struct DistributedRun::Impl {};

DistributedRun::DistributedRun() {
  throw Error(
      "--distributed needs MPI, but this voxel_vae was built without it "
      "(VOXGRAD_WITH_MPI=OFF, or CMake found no MPI: install libopenmpi-dev "
      "openmpi-bin and reconfigure)");
}
DistributedRun::~DistributedRun() = default;
int DistributedRun::rank() const {
  return 0;
}
int DistributedRun::world() const {
  return 1;
}
int DistributedRun::threads_per_rank() const {
  return 1;
}
DataParallel DistributedRun::data_parallel(int64_t) {
  return {};
}
void DistributedRun::attach(nn::Module&) {}
bool DistributedRun::replicas_identical() const {
  return true;
}

#endif

}  // namespace voxgrad::examples
