// DistributedSampler: shards are disjoint, cover the epoch, are the same
// for the same seed, and batch by batch union to a single process's batch.
// Pure arithmetic on (rank, world): no communication.

#include <algorithm>
#include <numeric>
#include <set>

#include "dist_test_util.hpp"

namespace voxgrad::test {

using distributed::DistributedSampler;

TEST_CASE("distributed sampler shards an epoch into disjoint covering parts") {
  for (int world : {1, 2, 3, 4}) {
    CAPTURE(world);
    const int64_t size = 12;
    std::vector<int64_t> all;
    for (int r = 0; r < world; ++r) {
      DistributedSampler s(size, r, world, 5);
      s.set_epoch(2);
      const auto mine = s.indices();
      CHECK(static_cast<int64_t>(mine.size()) == s.num_samples());
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<int64_t> want(size);
    std::iota(want.begin(), want.end(), int64_t{0});
    CHECK(all == want);
  }
}

TEST_CASE("distributed sampler batches union to the single-process batch") {
  const int world = 3;
  const int64_t size = 30, b = 2;
  DistributedSampler one(size, 0, 1, 9);
  const auto global = one.indices();
  std::vector<std::vector<int64_t>> shards;
  for (int r = 0; r < world; ++r)
    shards.push_back(DistributedSampler(size, r, world, 9).indices());
  for (int64_t k = 0; k * b * world < size; ++k) {
    std::multiset<int64_t> mine, want(
                                     global.begin() + k * b * world,
                                     global.begin() + (k + 1) * b * world);
    for (const auto& s : shards)
      mine.insert(s.begin() + k * b, s.begin() + (k + 1) * b);
    CHECK(mine == want);
  }
}

TEST_CASE("distributed sampler order depends on seed and epoch only") {
  DistributedSampler a(50, 1, 2, 3), b(50, 1, 2, 3), c(50, 1, 2, 4);
  CHECK(a.indices() == b.indices());
  CHECK(a.indices() != c.indices());
  const auto e0 = a.indices();
  a.set_epoch(1);
  CHECK(a.indices() != e0);
  a.set_epoch(0);
  CHECK(a.indices() == e0);
  CHECK(
      DistributedSampler::permutation(50, 3, 1) !=
      DistributedSampler::permutation(50, 3, 0));
  DistributedSampler plain(5, 0, 1, 3, /*shuffle=*/false);
  CHECK(plain.indices() == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("distributed sampler evens out an epoch by padding or dropping") {
  // 5 items over 2 ranks: padded to 6 (item 0 again) or cut to 4.
  DistributedSampler p0(5, 0, 2, 0, false), p1(5, 1, 2, 0, false);
  CHECK(p0.indices() == std::vector<int64_t>{0, 2, 4});
  CHECK(p1.indices() == std::vector<int64_t>{1, 3, 0});
  DistributedSampler d0(5, 0, 2, 0, false, true), d1(5, 1, 2, 0, false, true);
  CHECK(d0.indices() == std::vector<int64_t>{0, 2});
  CHECK(d1.indices() == std::vector<int64_t>{1, 3});
  // Fewer items than ranks: repeated cyclically.
  CHECK(
      DistributedSampler(2, 4, 5, 0, false).indices() ==
      std::vector<int64_t>{0});
}

TEST_CASE("distributed sampler names the bad argument") {
  CHECK_ERROR_CONTAINS(
      DistributedSampler(10, 2, 2), "rank must be in [0, 2)", "got 2");
  CHECK_ERROR_CONTAINS(DistributedSampler(10, 0, 0), "world must be >= 1");
  CHECK_ERROR_CONTAINS(
      DistributedSampler(0, 0, 1), "size must be >= 1", "got 0");
  CHECK_ERROR_CONTAINS(
      DistributedSampler(1, 0, 2, 0, true, true), "drop_last", "size (1)");
  DistributedSampler s(10, 0, 1);
  CHECK_ERROR_CONTAINS(s.set_epoch(-1), "epoch must be in", "got -1");
}

}  // namespace voxgrad::test
