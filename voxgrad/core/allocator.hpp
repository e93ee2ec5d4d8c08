#pragma once
// The memory behind every tensor (voxgrad/core/allocator.cpp), and control over
// its cache of large blocks.
//
// NOTE [ Caching allocator ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
// Blocks of at least 64 KiB come straight from the OS (mmap; from 1 MiB up
// 2 MiB aligned, with transparent huge pages requested where the kernel
// allows it), and when a tensor frees one, it is kept in a cache instead of
// being returned: a training loop allocates the same activation and
// gradient sizes on every step, and a fresh mapping costs a page fault per
// 4 KiB page on first touch (a 1 GiB output: ~0.25 M faults, tens of
// milliseconds). A request takes the smallest cached block that fits and
// wastes at most 1/8 of it; sizes are rounded up to 2 MiB from 1 MiB, to
// 16 KiB below. Smaller blocks use aligned_alloc.
//
// Why from 64 KiB and not leave the middle to the C library: glibc serves
// such blocks by mmap, or from a heap whose free top it trims back to the
// OS, so they page-fault again on every step too. Caching them made the
// WGAN-GP critic step (16^3, activations of ~0.5 MiB) 33 -> 21 ms and the
// VAE step 33 -> 30 ms on 2 cores (voxgrad-bench --model wgan|vae,
// medians of 15, 2026-12-02).
//
// The cache is thread-safe (one mutex) and bounded: when it would hold more
// than its limit, the least recently cached blocks are returned to the OS.
// The limit is min(4 GiB, 1/4 of physical memory) by default; the
// environment variable VOXGRAD_CACHE_LIMIT_MB overrides it at start-up
// (0 disables caching) and set_cache_limit() at any time. Under
// AddressSanitizer cached blocks are poisoned, so a use after free is still
// reported.

#include <cstddef>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// Returns every cached (free) block to the OS, like torch.cuda.empty_cache;
/// memory held by live tensors is unaffected.
/// ```cpp
/// voxgrad::empty_cache();
/// ```
void empty_cache();

/// Bytes currently held by the cache (free blocks kept for reuse).
size_t cached_bytes();

/// Bytes held by live tensors (their storages), as requested, not rounded;
/// like torch.cuda.memory_allocated.
size_t memory_allocated();

/// The most memory_allocated() has been since the start or the last
/// reset_peak_memory_stats(), like torch.cuda.max_memory_allocated:
/// ```cpp
/// voxgrad::reset_peak_memory_stats();
/// step();
/// size_t peak = voxgrad::max_memory_allocated();
/// ```
size_t max_memory_allocated();
void reset_peak_memory_stats();

/// Sets the most the cache may hold (0 disables caching) and trims it to
/// that; returns the previous limit.
/// ```cpp
/// size_t old = voxgrad::set_cache_limit(size_t{1} << 30);
/// ```
size_t set_cache_limit(size_t bytes);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
