#pragma once
// The memory behind every tensor (voxgrad/core/allocator.cpp), and control over
// its cache of large blocks.
//
// NOTE [ Caching allocator ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
// Blocks of at least 1 MiB come straight from the OS (mmap, 2 MiB aligned,
// with transparent huge pages requested where the kernel allows it), and
// when a tensor frees one, it is kept in a cache instead of being returned:
// a training loop allocates the same activation and gradient sizes on every
// step, and a fresh mapping costs a page fault per 4 KiB page on first touch
// (a 1 GiB output: ~0.25 M faults, tens of milliseconds). A request takes
// the smallest cached block that fits and wastes at most 1/8 of it; sizes
// are rounded up to 2 MiB. Smaller blocks use aligned_alloc (the C library
// already recycles those).
//
// The cache is thread-safe (one mutex) and bounded: when it would hold more
// than its limit, the least recently cached blocks are returned to the OS.
// The limit is min(4 GiB, 1/4 of physical memory) by default; the
// environment variable VOXGRAD_CACHE_LIMIT_MB overrides it at start-up
// (0 disables caching) and set_cache_limit() at any time. Under
// AddressSanitizer cached blocks are poisoned, so a use after free is still
// reported.

#include <cstddef>

namespace voxgrad {

/// Returns every cached (free) block to the OS, like torch.cuda.empty_cache;
/// memory held by live tensors is unaffected.
///   voxgrad::empty_cache();
void empty_cache();

/// Bytes currently held by the cache (free blocks kept for reuse).
size_t cached_bytes();

/// Bytes held by live tensors (their storages), as requested, not rounded;
/// like torch.cuda.memory_allocated.
size_t memory_allocated();

/// The most memory_allocated() has been since the start or the last
/// reset_peak_memory_stats(), like torch.cuda.max_memory_allocated:
///   voxgrad::reset_peak_memory_stats();
///   step();
///   size_t peak = voxgrad::max_memory_allocated();
size_t max_memory_allocated();
void reset_peak_memory_stats();

/// Sets the most the cache may hold (0 disables caching) and trims it to
/// that; returns the previous limit.
///   size_t old = voxgrad::set_cache_limit(size_t{1} << 30);
size_t set_cache_limit(size_t bytes);

}  // namespace voxgrad
