#pragma once
// The augmentations voxel papers use (Brock et al. 2016; Wu et al. 2016's
// classifiers): mirror flips across the vertical planes, rotations by
// multiples of 90 degrees about the up axis (z), and small translations,
// zero-filled or circular. Every draw comes from a counter-based
// Generator, so a batch's augmentation is a pure function of the
// generator's state: checkpoint (seed, offset) and a resumed run augments
// exactly as the uninterrupted one.

#include <cstdint>

#include "voxgrad/core/random.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::data {

/// AugmentOptions{.flip = true, .max_shift = 2}
struct AugmentOptions {
  bool flip = false;      // mirror x and y, each with probability 1/2
  bool rotate90 = false;  // k * 90 degrees about z, k uniform in {0..3}
  int64_t max_shift = 0;  // shift each axis by a uniform integer in [-s, s]
  bool circular = false;  // wrap shifted voxels around instead of zeros
  bool any() const {
    return flip || rotate90 || max_shift > 0;
  }
};

/// A new (N, C, D, H, W) float32 tensor, item n transformed by its own
/// draws (the C channels alike); the input is unchanged. Takes 6 counters
/// per item from `gen`. rotate90 needs H == W; max_shift must be in
/// [0, min(D, H, W)).
Tensor augment(
    const Tensor& batch, const AugmentOptions& options, Generator& gen);

}  // namespace voxgrad::data
