#pragma once
// The order in which training items are visited: a fresh shuffle of
// [0, size) every epoch, read as one endless stream of batches. The whole
// state is (epoch, cursor): the permutation of an epoch is recomputed from
// (seed, epoch), so a checkpoint stores two integers and a resumed run
// visits exactly the items the uninterrupted run would have.
//
// Data-parallel training (several processes) draws the same global batch on
// every rank and keeps its own slice of it (shard()): the sampler's state
// stays identical everywhere, and 2 ranks x B/2 see the items of 1 x B.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace voxgrad::examples {

class EpochSampler {
 public:
  /// `size` items, shuffled by a stream derived from `seed`.
  EpochSampler(int64_t size, uint64_t seed);

  /// The next `batch` items; a batch that runs past the end of an epoch
  /// continues with the next epoch's shuffle.
  std::vector<int64_t> next_batch(int64_t batch);
  /// The items next_batch(batch) would return, leaving the state as it is
  /// (what a prefetcher needs).
  std::vector<int64_t> peek_batch(int64_t batch) const;

  int64_t epoch() const {
    return epoch_;
  }
  /// Items of the current epoch already handed out.
  int64_t cursor() const {
    return cursor_;
  }

  /// {"size": n, "seed": s, "epoch": e, "cursor": c}.
  nlohmann::json state() const;
  /// Restores state(); throws voxgrad::Error naming the field when the state
  /// is malformed or belongs to another data set (size or seed differ).
  /// Changes nothing on error.
  void load_state(const nlohmann::json& state);

 private:
  void shuffle();

  int64_t size_;
  uint64_t seed_;
  int64_t epoch_ = 0;
  int64_t cursor_ = 0;
  std::vector<int64_t> order_;
};

/// Rank `rank`'s contiguous part [first, first + count) of `n` items split
/// over `world` processes (the first n % world ranks get one item more).
struct ShardRange {
  int64_t first = 0, count = 0;
};
ShardRange shard_range(int64_t n, int rank, int world);

/// Rank `rank`'s slice of a global batch (shard_range of its size).
std::vector<int64_t> shard(
    const std::vector<int64_t>& global_batch, int rank, int world);

}  // namespace voxgrad::examples
