// The caching allocator (NOTE [ Caching allocator ] in
// voxgrad/core/allocator.hpp): which blocks are cached, reuse, the limit,
// and the statistics, over sizes on both sides of every threshold.

#include <cstdint>
#include <vector>

#include "test_util.hpp"
#include "voxgrad/core/allocator.hpp"
#include "voxgrad/core/allocator_testing.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad {
namespace {

constexpr int64_t kKiB = 1024;

// Byte sizes around the thresholds (64 KiB cached, 1 MiB huge-page blocks).
const int64_t kSizes[] = {
    4,
    64,
    4 * kKiB,
    64 * kKiB - 4,
    64 * kKiB,
    64 * kKiB + 4,
    100 * kKiB,
    1024 * kKiB - 4,
    1024 * kKiB,
    1024 * kKiB + 4,
    3 * 1024 * kKiB + 8};

/// A float tensor of `bytes` bytes whose every element is written.
Tensor filled(int64_t bytes, float value) {
  Tensor t = empty({bytes / 4}, kFloat32);
  float* p = t.mutable_data<float>();
  for (int64_t i = 0; i < bytes / 4; ++i)
    p[i] = value + static_cast<float>(i);
  return t;
}

/// Restores the cache limit on scope exit.
struct LimitGuard {
  size_t old = set_cache_limit(size_t{1} << 30);
  ~LimitGuard() {
    set_cache_limit(old);
  }
};

TEST_CASE("allocator: blocks from 64 KiB up are cached and reused") {
  LimitGuard guard;
  for (int64_t bytes : kSizes) {
    CAPTURE(bytes);
    empty_cache();
    REQUIRE(cached_bytes() == 0);
    const void* first = nullptr;
    {
      const Tensor t = filled(bytes, 1);
      first = t.data<float>();
      CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
    }
    const bool cached = bytes >= 64 * kKiB;
    CHECK((cached_bytes() >= static_cast<size_t>(bytes)) == cached);
    CHECK((cached_bytes() == 0) == !cached);
    // The same size again takes the cached block, and it is fully usable.
    const Tensor again = filled(bytes, 2);
    if (cached) {
      CHECK(again.data<float>() == first);
      CHECK(cached_bytes() == 0);
    }
    const float* p = again.data<float>();
    bool intact = true;
    for (int64_t i = 0; i < bytes / 4; ++i)
      intact = intact && p[i] == 2 + static_cast<float>(i);
    CHECK(intact);
  }
  empty_cache();
}

TEST_CASE("allocator: a smaller request reuses a block at most 1/8 larger") {
  LimitGuard guard;
  empty_cache();
  const void* block = nullptr;
  { block = filled(512 * kKiB, 0).data<float>(); }
  {
    // 480 KiB rounds to 480 KiB: 512 is within 1/8 of it, so it is reused.
    const Tensor t = filled(480 * kKiB, 0);
    CHECK(t.data<float>() == block);
  }
  {
    // 256 KiB would waste half of the 512 KiB block: a new mapping.
    const Tensor t = filled(256 * kKiB, 0);
    CHECK(t.data<float>() != block);
  }
  empty_cache();
  CHECK(cached_bytes() == 0);
}

TEST_CASE("allocator: the limit bounds the cache, 0 disables it") {
  LimitGuard guard;
  empty_cache();
  set_cache_limit(300 * kKiB);
  {
    std::vector<Tensor> live;
    for (int i = 0; i < 6; ++i)
      live.push_back(filled(128 * kKiB, static_cast<float>(i)));
  }
  CHECK(cached_bytes() <= 300 * kKiB);
  CHECK(cached_bytes() >= 128 * kKiB);
  set_cache_limit(0);
  CHECK(cached_bytes() == 0);
  { const Tensor t = filled(2048 * kKiB, 0); }
  CHECK(cached_bytes() == 0);
}

TEST_CASE("allocator: memory_allocated counts live bytes as requested") {
  LimitGuard guard;
  for (int64_t bytes : kSizes) {
    CAPTURE(bytes);
    const size_t before = memory_allocated();
    reset_peak_memory_stats();
    {
      const Tensor t = filled(bytes, 0);
      CHECK(memory_allocated() == before + static_cast<size_t>(bytes));
    }
    CHECK(memory_allocated() == before);
    CHECK(max_memory_allocated() == before + static_cast<size_t>(bytes));
  }
}

TEST_CASE("allocator: when mmap fails, blocks come from the heap, uncached") {
  // As when a process has used up vm.max_map_count mappings: every size of
  // the cached range still allocates, is aligned, usable and counted, and
  // frees without entering the cache.
  LimitGuard guard;
  for (int64_t bytes : kSizes) {
    if (bytes < 64 * kKiB)
      continue;
    CAPTURE(bytes);
    empty_cache();
    const size_t before = memory_allocated();
    // Two failures: the first map, then the retry after emptying the cache.
    detail::fail_next_mappings(2);
    {
      const Tensor t = filled(bytes, 3);
      CHECK(reinterpret_cast<uintptr_t>(t.data<float>()) % 64 == 0);
      CHECK(memory_allocated() == before + static_cast<size_t>(bytes));
      const float* p = t.data<float>();
      bool intact = true;
      for (int64_t i = 0; i < bytes / 4; ++i)
        intact = intact && p[i] == 3 + static_cast<float>(i);
      CHECK(intact);
    }
    CHECK(cached_bytes() == 0);
    CHECK(memory_allocated() == before);
    // Mappings work again: the next block is mapped and cached as usual.
    { const Tensor t = filled(bytes, 4); }
    CHECK(cached_bytes() >= static_cast<size_t>(bytes));
  }
  // A cached block is dropped before falling back: one failure, then the
  // retry after emptying the cache maps fine.
  empty_cache();
  { const Tensor t = filled(256 * kKiB, 0); }
  REQUIRE(cached_bytes() > 0);
  detail::fail_next_mappings(1);
  { const Tensor t = filled(4096 * kKiB, 0); }
  CHECK(cached_bytes() >= 4096 * kKiB);
  CHECK(cached_bytes() < 4096 * kKiB + 256 * kKiB);
  empty_cache();
}

}  // namespace
}  // namespace voxgrad
