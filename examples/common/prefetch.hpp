#pragma once
// Takes the data off a training step's critical path: the next batch is
// voxelized on a background thread while the current step runs.
//
//   BatchPrefetcher data(dataset);
//   Tensor x = data.take(Split::Train, items);        // this step's batch
//   data.prefetch(Split::Train, sampler.peek_batch(b));  // the next one
//
// take() returns exactly what VoxelDataset::batch(split, items) returns: the
// prefetched tensor when it holds those items, else a batch made on the
// spot. Items are voxelized independently of each other and of threads, so
// a run is bit-identical with or without prefetching, and a resumed run
// (whose first batch is never prefetched) repeats the uninterrupted one.

#include <cstdint>
#include <future>
#include <vector>

#include "voxel_dataset.hpp"

namespace voxgrad::examples {

class BatchPrefetcher {
 public:
  explicit BatchPrefetcher(const VoxelDataset& data) : data_(data) {}
  /// Waits for a batch in flight (its result, or error, is dropped).
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  /// Starts voxelizing `items` in the background (replacing any batch in
  /// flight that take() has not claimed).
  void prefetch(Split split, std::vector<int64_t> items);

  /// The batch of `items`: the prefetched one if it matches (an error
  /// while making it is rethrown here), else made now.
  Tensor take(Split split, const std::vector<int64_t>& items);

 private:
  void drop_pending();

  const VoxelDataset& data_;
  std::future<Tensor> pending_;
  Split split_ = Split::Train;
  std::vector<int64_t> items_;
};

}  // namespace voxgrad::examples
