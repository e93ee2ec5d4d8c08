#pragma once
// Batch statistics over the whole distributed batch.
//
// A plain nn::BatchNorm3d under data parallelism normalises each rank's
// shard with that shard's own mean and variance (per-rank statistics, as
// PyTorch's BatchNorm under DDP): the result then depends on how the batch
// is split, and the running statistics differ between ranks
// (DataParallelOptions::broadcast_buffers makes everyone adopt rank 0's).
// SyncBatchNorm3d instead sums the per-channel statistics over the ranks,
// so W ranks x B/W normalise exactly as 1 rank x B does (to rounding), and
// the running statistics agree everywhere without a broadcast.

#include <string>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/distributed/communicator.hpp"
#include "voxgrad/nn/normalization.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::distributed {

/// Differentiable sum over the ranks: every rank gets the sum of all ranks'
/// `x` (same shape everywhere). Its backward sums the incoming gradients
/// over the ranks in the same way (the adjoint of "sum, then copy to every
/// rank" is "sum"), so every rank must run the backward too. `comm` must
/// outlive the graph. Collective, in forward and in backward.
/// ```cpp
/// Tensor total = distributed::all_reduce_sum(x.sum({0}), comm);
/// ```
Tensor all_reduce_sum(const Tensor& x, const Communicator& comm);

/// nn::BatchNorm3d whose training statistics are those of the batch
/// summed over every rank of `comm`: mean = sum(x) / N and biased variance
/// = sum((x - mean)^2) / N, N the number of values per channel over all
/// ranks (two all-reduces in forward, two in backward). Eval mode, and a
/// communicator of one rank, behave exactly as BatchNorm3d. Same parameter
/// and buffer names as BatchNorm3d, so checkpoints are interchangeable.
/// `comm` must outlive the module; every rank must call forward (and
/// backward) alike, since each is collective.
/// ```cpp
/// distributed::SyncBatchNorm3d bn(nn::BatchNorm3dOptions(16), comm);
/// ```
class SyncBatchNorm3dImpl : public nn::BatchNorm3dImpl {
 public:
  SyncBatchNorm3dImpl(
      const nn::BatchNorm3dOptions& options, const Communicator& comm);

  Tensor forward(const Tensor& x) override;

 private:
  const Communicator& comm_;
};
VOXGRAD_MODULE(SyncBatchNorm3d);

}  // namespace voxgrad::distributed

VOXGRAD_PUBLIC_END
