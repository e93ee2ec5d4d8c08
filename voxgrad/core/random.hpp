#pragma once
// Seeded random numbers. A Generator is a Philox-4x32-10 counter-based stream
// (the generator PyTorch uses on GPUs): element i of a fill draws counter
// offset + i, so fills are parallel yet identical for any thread count, and
// the whole state is two integers (easy to checkpoint).

#include <array>
#include <cstdint>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// A counter-based Philox random stream: (seed, offset). A fill draws element
/// i from counter offset + i, so results do not depend on the thread count;
/// pass `&gen` to rand / randn (PyTorch's torch::Generator).
class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL) : seed_(seed) {}

  /// Restarts the stream: `gen.manual_seed(42)`.
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const {
    return seed_;
  }
  /// Counters consumed so far.
  uint64_t offset() const {
    return offset_;
  }
  /// Restores a state saved from seed() and offset().
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  /// Reserves n counters and returns the first one.
  uint64_t advance(uint64_t n) {
    const uint64_t first = offset_;
    offset_ += n;
    return first;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

/// The generator used when none is passed (not thread-safe, like PyTorch's
/// CPU generator; use one Generator per thread if you draw concurrently).
Generator& default_generator();

/// Seeds the default generator: `voxgrad::manual_seed(0)`.
void manual_seed(uint64_t seed);

namespace detail {
/// Four 32-bit random words for (counter, key).
std::array<uint32_t, 4> philox(uint64_t counter, uint64_t key);
/// U[0, 1) with 53 random bits, and N(0, 1) by Box-Muller, for one counter.
double uniform01(uint64_t counter, uint64_t key);
double standard_normal(uint64_t counter, uint64_t key);
}  // namespace detail

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
