#include "voxgrad/nn/distributed/sampler.hpp"

#include <algorithm>
#include <numeric>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::distributed {

DistributedSampler::DistributedSampler(
    int64_t size,
    int rank,
    int world,
    uint64_t seed,
    bool shuffle,
    bool drop_last)
    : size_(size),
      rank_(rank),
      world_(world),
      seed_(seed),
      shuffle_(shuffle),
      drop_last_(drop_last) {
  constexpr const char* op = "DistributedSampler";
  VOXGRAD_CHECK(world >= 1, op, ": world must be >= 1 (got ", world, ")");
  VOXGRAD_CHECK(
      rank >= 0 && rank < world, op, ": rank must be in [0, ", world, ") (got ",
      rank, ")");
  VOXGRAD_CHECK(size >= 1, op, ": size must be >= 1 (got ", size, ")");
  VOXGRAD_CHECK(
      !drop_last || size >= world, op, ": with drop_last, size (", size,
      ") must be >= world (", world, "), or no rank would get an item");
  num_samples_ = drop_last ? size / world : (size + world - 1) / world;
}

void DistributedSampler::set_epoch(int64_t epoch) {
  VOXGRAD_CHECK(
      epoch >= 0 && epoch < (int64_t{1} << 31),
      "DistributedSampler::set_epoch: epoch must be in [0, 2^31) (got ", epoch,
      ")");
  epoch_ = epoch;
}

std::vector<int64_t> DistributedSampler::permutation(
    int64_t size, uint64_t seed, int64_t epoch) {
  VOXGRAD_CHECK(
      size >= 0 && epoch >= 0 && epoch < (int64_t{1} << 31),
      "DistributedSampler::permutation: size must be >= 0 and epoch in "
      "[0, 2^31) (got size ",
      size, ", epoch ", epoch, ")");
  std::vector<int64_t> order(static_cast<size_t>(size));
  std::iota(order.begin(), order.end(), int64_t{0});
  // Counter-based draws keyed by the seed, one counter block per epoch:
  // epoch e's order never depends on how the previous ones were drawn.
  const uint64_t key = seed * 0x9E3779B97F4A7C15ULL + 0x44445053ULL;
  const uint64_t base = static_cast<uint64_t>(epoch) << 32;
  for (int64_t i = size - 1; i > 0; --i) {
    const double u = detail::uniform01(base + static_cast<uint64_t>(i), key);
    const int64_t j =
        std::min(static_cast<int64_t>(u * static_cast<double>(i + 1)), i);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

std::vector<int64_t> DistributedSampler::indices() const {
  std::vector<int64_t> order;
  if (shuffle_) {
    order = permutation(size_, seed_, epoch_);
  } else {
    order.resize(static_cast<size_t>(size_));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const int64_t total = num_samples_ * world_;
  // Even out the epoch: repeat from the start (cyclically, for tiny data
  // sets) or cut the tail.
  order.reserve(static_cast<size_t>(std::max(total, size_)));
  for (int64_t i = size_; i < total; ++i)
    order.push_back(order[static_cast<size_t>(i % size_)]);
  order.resize(static_cast<size_t>(total));
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(num_samples_));
  for (int64_t i = rank_; i < total; i += world_)
    mine.push_back(order[static_cast<size_t>(i)]);
  return mine;
}

}  // namespace voxgrad::distributed
