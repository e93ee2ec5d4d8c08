#include "sampler.hpp"

#include <numeric>
#include <utility>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::examples {

EpochSampler::EpochSampler(int64_t size, uint64_t seed)
    : size_(size), seed_(seed) {
  VOXGRAD_CHECK(size >= 1, "EpochSampler: size must be >= 1 (got ", size, ")");
  shuffle();
}

// Fisher-Yates with Philox draws keyed by (seed, epoch): epoch e's order is
// a pure function of the two, never of how we got there.
void EpochSampler::shuffle() {
  order_.resize(static_cast<size_t>(size_));
  std::iota(order_.begin(), order_.end(), int64_t{0});
  const uint64_t key = seed_ * 0x9E3779B97F4A7C15ULL + 0x5A4D504CULL;
  const uint64_t base = static_cast<uint64_t>(epoch_) << 32;
  for (int64_t i = size_ - 1; i > 0; --i) {
    const double u = detail::uniform01(base + static_cast<uint64_t>(i), key);
    const auto j = static_cast<int64_t>(u * static_cast<double>(i + 1));
    std::swap(
        order_[static_cast<size_t>(i)],
        order_[static_cast<size_t>(std::min(j, i))]);
  }
}

std::vector<int64_t> EpochSampler::next_batch(int64_t batch) {
  VOXGRAD_CHECK(
      batch >= 1, "EpochSampler: batch must be >= 1 (got ", batch, ")");
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(batch));
  while (static_cast<int64_t>(out.size()) < batch) {
    if (cursor_ == size_) {
      ++epoch_;
      cursor_ = 0;
      shuffle();
    }
    out.push_back(order_[static_cast<size_t>(cursor_++)]);
  }
  return out;
}

std::vector<int64_t> EpochSampler::peek_batch(int64_t batch) const {
  if (batch >= 1 && cursor_ + batch <= size_) {  // within this epoch
    const auto first = order_.begin() + static_cast<std::ptrdiff_t>(cursor_);
    return {first, first + static_cast<std::ptrdiff_t>(batch)};
  }
  EpochSampler ahead = *this;
  return ahead.next_batch(batch);
}

nlohmann::json EpochSampler::state() const {
  return {
      {"size", size_}, {"seed", seed_}, {"epoch", epoch_}, {"cursor", cursor_}};
}

void EpochSampler::load_state(const nlohmann::json& state) {
  VOXGRAD_CHECK(
      state.is_object(), "EpochSampler: state must be a JSON object (got ",
      state.type_name(), ")");
  auto get = [&](const char* key) -> int64_t {
    VOXGRAD_CHECK(
        state.contains(key) && state[key].is_number_integer(),
        "EpochSampler: state field '", key, "' must be an integer (got ",
        state.contains(key) ? state[key].dump() : "nothing", ")");
    return state[key].get<int64_t>();
  };
  const int64_t size = get("size"), epoch = get("epoch"),
                cursor = get("cursor");
  VOXGRAD_CHECK(
      state.contains("seed") && state["seed"].is_number_unsigned(),
      "EpochSampler: state field 'seed' must be an integer >= 0 (got ",
      state.contains("seed") ? state["seed"].dump() : "nothing", ")");
  const auto seed = state["seed"].get<uint64_t>();
  VOXGRAD_CHECK(
      size == size_, "EpochSampler: state is for a data set of ", size,
      " items, this one has ", size_);
  VOXGRAD_CHECK(
      seed == seed_, "EpochSampler: state is for seed ", seed,
      ", this sampler has seed ", seed_);
  VOXGRAD_CHECK(
      epoch >= 0 && epoch < (int64_t{1} << 31),
      "EpochSampler: state field 'epoch' must be in [0, 2^31) (got ", epoch,
      ")");
  VOXGRAD_CHECK(
      cursor >= 0 && cursor <= size,
      "EpochSampler: state field 'cursor' must be in [0, ", size, "] (got ",
      cursor, ")");
  epoch_ = epoch;
  cursor_ = cursor;
  shuffle();
}

ShardRange shard_range(int64_t n, int rank, int world) {
  VOXGRAD_CHECK(world >= 1, "shard: world must be >= 1 (got ", world, ")");
  VOXGRAD_CHECK(
      rank >= 0 && rank < world, "shard: rank must be in [0, ", world,
      ") (got ", rank, ")");
  const int64_t base = n / world, extra = n % world;
  return {
      rank * base + std::min<int64_t>(rank, extra),
      base + (rank < extra ? 1 : 0)};
}

std::vector<int64_t> shard(
    const std::vector<int64_t>& global_batch, int rank, int world) {
  const ShardRange r =
      shard_range(static_cast<int64_t>(global_batch.size()), rank, world);
  return {
      global_batch.begin() + r.first, global_batch.begin() + r.first + r.count};
}

}  // namespace voxgrad::examples
