#pragma once
// DistributedDataParallel: every rank holds a replica of the model, runs
// forward and backward on its own shard of the batch, and the gradients are
// averaged over the ranks before the optimizer step, so the replicas stay
// identical (PyTorch's torch.nn.parallel.DistributedDataParallel).
//
// ```cpp
// distributed::DistributedDataParallel ddp(*model, comm);
// for (int step = 0; step < steps; ++step) {
//   opt.zero_grad();
//   loss_on_my_shard(*model).backward();  // buckets start reducing here
//   ddp.synchronize_gradients();          // every .grad() is the average
//   opt.step();
// }
// ```
//
// NOTE [ Gradient buckets ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// Parameters are grouped into buckets of about bucket_cap_mb, in reverse
// registration order: backward produces the last layers' gradients first.
// A post-accumulate-grad hook (voxgrad/autograd/hooks.hpp) copies each
// gradient, times this rank's share, into its bucket's flat buffer as soon as
// backward has finished with that parameter; a full bucket starts a
// non-blocking MPI_Iallreduce while backward continues through the layers
// below, and later hooks drive MPI's progress. Buckets are started strictly
// in index order on every rank (a bucket that fills early waits for its
// predecessors), because MPI pairs collectives by the order in which they
// are called. synchronize_gradients() starts what is left, waits, and
// writes the sums back into .grad().
//
// Exactness: with a loss that is a mean over each rank's n_r samples and
// share n_r / N (the default 1/world when shards are equal), the summed
// gradient is the gradient of the mean over all N samples: W ranks x B/W
// give 1 rank x B's update to float rounding (summation order differs).
// A parameter no rank produced a gradient for gets zeros.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "voxgrad/autograd/hooks.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/distributed/communicator.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::distributed {

/// The options; every setter here sets its default:
/// ```cpp
/// auto options = distributed::DataParallelOptions().bucket_cap_mb(4).overlap(
///     true).broadcast_buffers(true);
/// ```
struct DataParallelOptions {
  /// Target bucket size in MiB (default 4); a larger parameter gets a
  /// bucket of its own.
  DataParallelOptions& bucket_cap_mb(double v) {
    bucket_cap_mb_ = v;
    return *this;
  }
  /// Start each bucket's all-reduce from the gradient hooks during
  /// backward (default); false: all of them in synchronize_gradients().
  DataParallelOptions& overlap(bool v) {
    overlap_ = v;
    return *this;
  }
  /// After each synchronisation, copy rank 0's buffers (BatchNorm running
  /// statistics) to every rank, so the replicas never drift apart (default
  /// true). See voxgrad/nn/distributed/sync_batch_norm.hpp for synchronised
  /// statistics.
  DataParallelOptions& broadcast_buffers(bool v) {
    broadcast_buffers_ = v;
    return *this;
  }
  double bucket_cap_mb() const {
    return bucket_cap_mb_;
  }
  bool overlap() const {
    return overlap_;
  }
  bool broadcast_buffers() const {
    return broadcast_buffers_;
  }

 private:
  double bucket_cap_mb_ = 4;
  bool overlap_ = true;
  bool broadcast_buffers_ = true;
};

/// One replica of a module per process: averages the gradients over the
/// ranks with bucketed all-reduces that overlap backward
/// (torch.nn.parallel.DistributedDataParallel).
class DistributedDataParallel {
 public:
  /// Checks that every rank has the same parameter and buffer names,
  /// shapes and dtypes, copies rank 0's values to every rank, forms the
  /// buckets and hooks the parameters. Collective. `module` must outlive
  /// this object; the communicator is duplicated (collectives of this
  /// object never pair up with the caller's).
  DistributedDataParallel(
      nn::Module& module,
      const Communicator& comm,
      const DataParallelOptions& options = DataParallelOptions());
  /// Waits for collectives in flight (MPI may be using the buffers).
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  /// The weight of this rank's gradient in the sum (default 1 / world: the
  /// average). With unequal shards of a global batch of N samples and a
  /// loss that is a mean over the local n_r samples, pass n_r / N. Set it
  /// before backward. Must be finite and >= 0.
  void set_gradient_share(double share);
  double gradient_share() const {
    return share_;
  }

  /// Completes the all-reduce of every gradient (starting the buckets not
  /// yet started), writes the results into .grad() and, with
  /// broadcast_buffers, copies rank 0's buffers everywhere. Call it on
  /// every rank after each backward whose gradients are to be applied.
  /// Collective.
  void synchronize_gradients();

  /// While the guard lives, backward accumulates into .grad() locally with
  /// no communication (gradient accumulation over micro-batches); the
  /// synchronize_gradients() after the last micro-batch averages the sum.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool prev_;
  };
  [[nodiscard]] NoSync no_sync() {
    return NoSync(*this);
  }

  /// Whether every rank's parameters and buffers are bit-identical (an
  /// all-gather of a 64-bit hash). Collective; for tests and end-of-run
  /// checks.
  bool replicas_identical() const;

  nn::Module& module() {
    return module_;
  }
  const Communicator& communicator() const {
    return comm_;
  }
  size_t num_buckets() const {
    return buckets_.size();
  }
  /// Buckets whose all-reduce has started since the last synchronisation
  /// (with overlap, backward starts them; for tests and profiling).
  size_t num_buckets_started() const {
    return next_bucket_;
  }
  /// Dotted names of the parameters in bucket `i`, in bucket order.
  std::vector<std::string> bucket_parameter_names(size_t i) const;

 private:
  struct Slot {
    std::string name;
    Tensor param;
    size_t bucket = 0;
    int64_t offset = 0;  // into the bucket's flat buffer
    bool ready = false;  // copied in this round
  };
  struct Bucket {
    std::vector<size_t> slots;
    Tensor flat;  // 1-d, the parameters' dtype
    size_t pending = 0;
    Work work;
    bool started = false;
  };

  void check_replicas_agree() const;
  void broadcast_state(bool params);
  void on_gradient(size_t slot);
  void copy_in(size_t slot);
  void start_ready_buckets();
  void start_bucket(size_t b);
  void reset_round();

  nn::Module& module_;
  Communicator comm_;
  DataParallelOptions options_;
  double share_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<autograd::HookHandle> hooks_;
  size_t next_bucket_ = 0;  // the next bucket to start
  bool sync_enabled_ = true;
};

}  // namespace voxgrad::distributed

VOXGRAD_PUBLIC_END
