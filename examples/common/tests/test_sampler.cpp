// The training order: each epoch is a permutation, the state round-trips
// through JSON (what a checkpoint stores), and bad states are refused; the
// prefetcher hands out exactly the batches the sampler names.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "prefetch.hpp"
#include "sampler.hpp"
#include "voxgrad/core/error.hpp"

using namespace voxgrad::examples;

TEST_CASE("sampler visits every item once per epoch and resumes exactly") {
  EpochSampler s(10, 7);
  std::vector<int64_t> first;
  for (int i = 0; i < 5; ++i) {
    auto b = s.next_batch(2);
    first.insert(first.end(), b.begin(), b.end());
  }
  CHECK(s.epoch() == 0);
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  CHECK(sorted == all);
  CHECK(first != all);  // shuffled

  auto b = s.next_batch(3);  // crosses into epoch 1
  CHECK(s.epoch() == 1);
  const nlohmann::json saved = nlohmann::json::parse(s.state().dump());
  const auto straight = s.next_batch(13);
  EpochSampler r(10, 7);
  r.load_state(saved);
  CHECK(r.next_batch(13) == straight);
}

TEST_CASE("sampler refuses states of other data sets or malformed ones") {
  EpochSampler s(10, 7);
  nlohmann::json st = s.state();
  st["size"] = 11;
  CHECK_THROWS_WITH(
      s.load_state(st), doctest::Contains("data set of 11 items"));
  st = s.state();
  st["cursor"] = 12;
  CHECK_THROWS_WITH(s.load_state(st), doctest::Contains("'cursor'"));
  st = s.state();
  st.erase("epoch");
  CHECK_THROWS_WITH(s.load_state(st), doctest::Contains("'epoch'"));
  st = s.state();
  st["seed"] = -1;
  CHECK_THROWS_WITH(s.load_state(st), doctest::Contains("'seed'"));
  CHECK(s.epoch() == 0);
  CHECK(s.cursor() == 0);
}

TEST_CASE("shard splits a global batch into contiguous rank slices") {
  const std::vector<int64_t> g{0, 1, 2, 3, 4};
  CHECK(shard(g, 0, 2) == std::vector<int64_t>{0, 1, 2});
  CHECK(shard(g, 1, 2) == std::vector<int64_t>{3, 4});
  CHECK(shard(g, 0, 1) == g);
  CHECK_THROWS_AS(shard(g, 2, 2), voxgrad::Error);
}

TEST_CASE("peek_batch names the next batch and leaves the sampler alone") {
  EpochSampler s(10, 3);
  for (int step = 0; step < 12; ++step) {  // batches of 4 cross epochs
    CAPTURE(step);
    const nlohmann::json before = s.state();
    const auto peeked = s.peek_batch(4);
    CHECK(s.state() == before);
    CHECK(s.next_batch(4) == peeked);
  }
  CHECK_THROWS_AS(s.peek_batch(0), voxgrad::Error);
}

TEST_CASE("a prefetched batch is the batch made on the spot, bit for bit") {
  const VoxelDataset data({.seed = 5, .resolution = 16, .train_size = 40});
  BatchPrefetcher pf(data);
  EpochSampler s(40, 1);
  for (int step = 0; step < 4; ++step) {
    const auto items = s.next_batch(3);
    const voxgrad::Tensor x = pf.take(Split::Train, items);
    pf.prefetch(Split::Train, s.peek_batch(3));
    const voxgrad::Tensor want = data.batch(Split::Train, items);
    REQUIRE(x.shape() == want.shape());
    CHECK(x.to_vector<float>() == want.to_vector<float>());
  }
  // Items other than the prefetched ones are made on the spot; a bad
  // prefetch reports its error only to a take() that asks for it.
  pf.prefetch(Split::Train, {0, 99});
  CHECK(
      pf.take(Split::Train, {1, 2}).to_vector<float>() ==
      data.batch(Split::Train, {1, 2}).to_vector<float>());
  pf.prefetch(Split::Train, {0, 99});
  CHECK_THROWS_AS(pf.take(Split::Train, {0, 99}), voxgrad::Error);
}
