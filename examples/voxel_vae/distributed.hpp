#pragma once
// voxel_vae --distributed: data-parallel training over the processes that
// mpirun starts, through voxgrad::distributed (README: "Data-parallel
// training"). Every rank builds the same trainer; this object supplies the
// DataParallel hooks (gradient averaging, loss averaging) and makes rank 0
// the only one that talks: the others' std::cout is silenced.
//
// In a build without MPI (VOXGRAD_WITH_MPI=OFF) constructing it throws a
// voxgrad::Error that says so.

#include <memory>
#include <string>

#include "trainer.hpp"
#include "voxgrad/nn/module.hpp"

namespace voxgrad::examples {

class DistributedRun {
 public:
  /// Starts MPI and joins the job.
  DistributedRun();
  ~DistributedRun();
  DistributedRun(const DistributedRun&) = delete;
  DistributedRun& operator=(const DistributedRun&) = delete;

  int rank() const;
  int world() const;
  bool is_main() const {
    return rank() == 0;
  }
  /// Kernel threads per rank that share this host's cores evenly.
  int threads_per_rank() const;

  /// The trainer's view of this rank; `batch` is the global batch (each
  /// rank's gradient weighs its share of it).
  DataParallel data_parallel(int64_t batch);
  /// Copies rank 0's parameters to every rank and starts averaging
  /// gradients during backward; call once the model is built (and resumed).
  void attach(nn::Module& model);
  /// Whether every rank's model is bit-identical (collective).
  bool replicas_identical() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgrad::examples
