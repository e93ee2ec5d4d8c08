// Tensor memory: aligned_alloc for small blocks, mmap plus a bounded cache
// for the rest. See NOTE [ Caching allocator ] in voxgrad/core/allocator.hpp.
//
// When mmap fails with the cache already empty, a block no larger than the
// machine's memory falls back to aligned_alloc: a process has at most
// vm.max_map_count mappings (65530 by default), so a program holding ~65k
// live tensors of 64 KiB - 2 MiB runs out of mappings long before memory,
// and glibc's heap can still serve it. Such a block is marked as not
// mapped, freed with free() and never cached.

#include "voxgrad/core/allocator.hpp"

#include "voxgrad/core/allocator_testing.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/storage.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define VOXGRAD_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define VOXGRAD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define VOXGRAD_POISON(p, n) ((void)(p), (void)(n))
#define VOXGRAD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace voxgrad {
namespace {

// Blocks from kCachedBlock up are mmap'd and cached; from kLargeBlock up
// they are 2 MiB-aligned huge-page candidates, below it page-aligned and
// sized in kMediumGranule steps (at most 1/4 wasted).
constexpr size_t kCachedBlock = size_t{64} << 10;
constexpr size_t kMediumGranule = size_t{16} << 10;
constexpr size_t kLargeBlock = size_t{1} << 20;
constexpr size_t kHugePage = size_t{2} << 20;  // granularity of large blocks

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

/// What a cached block of at least n bytes is mapped as.
size_t block_size(size_t n) {
  return n >= kLargeBlock ? round_up(n, kHugePage)
                          : round_up(n, kMediumGranule);
}

/// The machine's memory (SIZE_MAX if sysconf cannot tell).
size_t physical_bytes() {
  static const size_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0
               ? static_cast<size_t>(pages) * static_cast<size_t>(page)
               : SIZE_MAX;
  }();
  return bytes;
}

size_t default_limit() {
  size_t limit = std::min(size_t{4} << 30, physical_bytes() / 4);
  if (const char* env = std::getenv("VOXGRAD_CACHE_LIMIT_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0')
      limit = static_cast<size_t>(mb) << 20;
  }
  return limit;
}

// map_block failures still to simulate (detail::fail_next_mappings).
std::atomic<int> g_failing_maps{0};

// A mapping of `size` bytes (block_size's result), or null: 2 MiB-aligned
// with huge pages requested for large blocks, page-aligned below.
void* map_block(size_t size) {
  for (int n = g_failing_maps.load(); n > 0;)
    if (g_failing_maps.compare_exchange_weak(n, n - 1))
      return nullptr;
  if (size < kLargeBlock) {
    void* p = mmap(
        nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
        0);
    return p == MAP_FAILED ? nullptr : p;
  }
  const size_t span = size + kHugePage;
  void* raw = mmap(
      nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
      0);
  if (raw == MAP_FAILED)
    return nullptr;
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(base, kHugePage);
  if (aligned > base)
    munmap(raw, aligned - base);
  const uintptr_t end = base + span, used_end = aligned + size;
  if (end > used_end)
    munmap(reinterpret_cast<void*>(used_end), end - used_end);
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);  // advisory: ignore failure
#endif
  return p;
}

class LargeBlockCache {
 public:
  void* allocate(size_t nbytes) {
    const size_t want = block_size(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.lower_bound(want);
      if (it != free_.end() && it->first <= want + want / 8) {
        void* p = it->second.ptr;
        const size_t size = it->first;
        free_.erase(it);
        held_ -= size;
        live_[p] = Live{size, true};
        VOXGRAD_UNPOISON(p, size);
        return p;
      }
    }
    void* p = map_block(want);
    if (!p) {  // out of mappings or memory: drop the cache and retry
      empty();
      p = map_block(want);
    }
    bool mapped = true;
    // Still none: the C library's heap (see the top of the file), unless
    // no heap could hold it either (more than the machine's memory: also
    // keeps such requests from AddressSanitizer's allocator, which aborts
    // on them instead of returning null).
    if (!p && want <= physical_bytes()) {
      p = std::aligned_alloc(kStorageAlignment, want);
      mapped = false;
    }
    VOXGRAD_CHECK(
        p != nullptr, "allocate: out of memory allocating ", nbytes, " bytes");
    std::lock_guard<std::mutex> lock(mu_);
    live_[p] = Live{want, mapped};
    return p;
  }

  void release(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    VOXGRAD_ASSERT(it != live_.end());
    const Live block = it->second;
    live_.erase(it);
    if (!block.mapped) {
      std::free(p);
      return;
    }
    const size_t size = block.size;
    if (size > limit_) {
      munmap(p, size);
      return;
    }
    trim_locked(limit_ - size);
    VOXGRAD_POISON(p, size);
    free_.emplace(size, Entry{p, ++clock_});
    held_ += size;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mu_);
    trim_locked(0);
  }

  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_;
  }

  size_t set_limit(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t old = limit_;
    limit_ = bytes;
    trim_locked(limit_);
    return old;
  }

 private:
  struct Entry {
    void* ptr;
    uint64_t stamp;  // when it was cached: the oldest goes first
  };
  struct Live {
    size_t size;  // as mapped (block_size)
    bool mapped;  // false: aligned_alloc's, freed with free(), not cached
  };

  // Unmaps the least recently cached blocks until held_ <= target.
  void trim_locked(size_t target) {
    while (held_ > target) {
      auto oldest = free_.begin();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->second.stamp < oldest->second.stamp)
          oldest = it;
      VOXGRAD_UNPOISON(oldest->second.ptr, oldest->first);
      munmap(oldest->second.ptr, oldest->first);
      held_ -= oldest->first;
      free_.erase(oldest);
    }
  }

  std::mutex mu_;
  std::multimap<size_t, Entry> free_;     // size -> cached block
  std::unordered_map<void*, Live> live_;  // block -> how it was obtained
  size_t held_ = 0, limit_ = default_limit();
  uint64_t clock_ = 0;
};

// Never destroyed: tensors held by static objects may be freed after any
// static destructor would have run.
LargeBlockCache& large_blocks() {
  static LargeBlockCache* cache = new LargeBlockCache();
  return *cache;
}

// Live bytes and their peak (relaxed atomics: statistics, not ordering).
std::atomic<size_t> g_live{0}, g_peak{0};

void count_alloc(size_t nbytes) {
  const size_t now =
      g_live.fetch_add(nbytes, std::memory_order_relaxed) + nbytes;
  size_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak &&
         !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

}  // namespace

size_t memory_allocated() {
  return g_live.load(std::memory_order_relaxed);
}

size_t max_memory_allocated() {
  return g_peak.load(std::memory_order_relaxed);
}

void reset_peak_memory_stats() {
  g_peak.store(
      g_live.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void empty_cache() {
  large_blocks().empty();
}

size_t cached_bytes() {
  return large_blocks().held();
}

size_t set_cache_limit(size_t bytes) {
  return large_blocks().set_limit(bytes);
}

namespace detail {

void* allocate_bytes(size_t nbytes) {
  // Rounding up below must not wrap (tensors are sized by checked::nbytes,
  // but Storage is public).
  VOXGRAD_CHECK(
      nbytes <= checked::kMaxBytes, "allocate: ", nbytes,
      " bytes exceed the largest buffer voxgrad can allocate (",
      checked::kMaxBytes, " bytes)");
  if (nbytes >= kCachedBlock)
    return large_blocks().allocate(nbytes);
  // aligned_alloc needs a size that is a multiple of the alignment, and a
  // zero-byte tensor still gets a unique, valid pointer.
  const size_t rounded = round_up(nbytes, kStorageAlignment);
  void* p = std::aligned_alloc(
      kStorageAlignment, rounded == 0 ? kStorageAlignment : rounded);
  VOXGRAD_CHECK(
      p != nullptr, "allocate: out of memory allocating ", nbytes, " bytes");
  return p;
}

void fail_next_mappings(int n) {
  g_failing_maps.store(n);
}

void free_bytes(void* ptr, size_t nbytes) {
  if (nbytes >= kCachedBlock)
    large_blocks().release(ptr);
  else
    std::free(ptr);
}

}  // namespace detail

Storage::Storage(size_t nbytes)
    : data_(detail::allocate_bytes(nbytes)), nbytes_(nbytes) {
  count_alloc(nbytes);
}

Storage::~Storage() {
  g_live.fetch_sub(nbytes_, std::memory_order_relaxed);
  detail::free_bytes(data_, nbytes_);
}

}  // namespace voxgrad
