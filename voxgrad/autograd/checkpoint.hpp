#pragma once
// Activation checkpointing (torch.utils.checkpoint): run a block without
// keeping its intermediate tensors, and recompute them when backward reaches
// the block. Memory of the block's activations is traded for one more
// forward of it.

#include <functional>
#include <vector>

#include "voxgrad/core/random.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::autograd {

using CheckpointFn = std::function<Tensor(const TensorList&)>;

/// How autograd::checkpoint recomputes its block.
struct CheckpointOptions {
  /// Replay the random numbers of the forward in the recomputation, so a
  /// block with dropout gets the same masks (PyTorch's preserve_rng_state).
  bool preserve_rng_state = true;
  /// The generators whose state is replayed: the default generator, plus
  /// these (e.g. a Dropout's own generator).
  std::vector<Generator*> generators;
};

/// fn(inputs), recorded as one node: the forward runs without recording, so
/// none of fn's intermediate tensors stay alive; backward runs fn again with
/// recording on and differentiates that. Gradients equal the plain fn's bit
/// for bit (given deterministic ops, which voxgrad's are), double backward
/// included. fn must depend only on `inputs` (and on parameters it reaches
/// otherwise: their gradients flow through the recomputation too) and must
/// not write into them.
/// ```cpp
/// Tensor h = autograd::checkpoint(
///     [&](const TensorList& in) { return block(in[0]); }, {x});
/// ```
Tensor checkpoint(
    const CheckpointFn& fn,
    const TensorList& inputs,
    const CheckpointOptions& options = {});

}  // namespace voxgrad::autograd

VOXGRAD_PUBLIC_END
