#pragma once
// Which items each rank trains on (PyTorch's DistributedSampler).
//
// Epoch e's order is a permutation of [0, size) that depends only on
// (seed, e), so every rank computes the same one without communicating.
// Rank r takes positions r, r + W, r + 2W, ... of it (W ranks). Batches of
// b consecutive items of each rank's list then cover, at step k, exactly
// positions [k W b, (k + 1) W b) of the permutation over all ranks: the
// items a single process with batch W b sees at step k. The shards of one
// epoch are disjoint.
//
// Every rank must take the same number of steps (each step is a
// collective), so when W does not divide size the epoch is evened out:
// padded by repeating its first items (default) or cut (drop_last).

#include <cstdint>
#include <vector>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::distributed {

/// Each rank's share of a shuffled epoch, disjoint and covering
/// (torch.utils.data.distributed.DistributedSampler).
class DistributedSampler {
 public:
  /// `size` items, rank `rank` of `world`; shuffled from `seed` unless
  /// `shuffle` is false (then epoch order is 0, 1, 2, ...).
  /// ```cpp
  /// DistributedSampler s(dataset_size, comm.rank(), comm.size(), seed);
  /// ```
  DistributedSampler(
      int64_t size,
      int rank,
      int world,
      uint64_t seed = 0,
      bool shuffle = true,
      bool drop_last = false);

  /// Selects the epoch whose permutation indices() shards.
  void set_epoch(int64_t epoch);
  int64_t epoch() const {
    return epoch_;
  }
  /// Items per rank per epoch (the same on every rank).
  int64_t num_samples() const {
    return num_samples_;
  }
  /// This rank's items of the current epoch, in training order.
  std::vector<int64_t> indices() const;

  /// The epoch order of `size` items for (seed, epoch): Fisher-Yates with
  /// Philox draws, a pure function of the three arguments.
  static std::vector<int64_t> permutation(
      int64_t size, uint64_t seed, int64_t epoch);

 private:
  int64_t size_;
  int rank_, world_;
  uint64_t seed_;
  bool shuffle_, drop_last_;
  int64_t epoch_ = 0;
  int64_t num_samples_ = 0;
};

}  // namespace voxgrad::distributed

VOXGRAD_PUBLIC_END
