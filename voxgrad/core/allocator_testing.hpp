#pragma once
// Test hooks of the caching allocator (voxgrad/core/allocator.cpp); internal,
// not installed.

namespace voxgrad::detail {

/// Makes the allocator's next n mmap calls fail, as they do when a process
/// has used up vm.max_map_count mappings, so tests can reach the fallback to
/// aligned_alloc without exhausting the machine.
void fail_next_mappings(int n);

}  // namespace voxgrad::detail
