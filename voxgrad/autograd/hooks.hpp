#pragma once
// Post-accumulate-grad hooks on leaves (PyTorch's
// Tensor.register_post_accumulate_grad_hook): a function the engine calls
// right after it has added a backward's gradient into a leaf's .grad().
// Data-parallel training uses it to start reducing a parameter's gradient
// while backward is still running through the layers below it
// (voxgrad/nn/distributed/data_parallel.hpp).
//
// The hooks live in a table keyed by the leaf rather than in TensorImpl, so
// tensors pay nothing for them and the engine checks one atomic counter
// when no hook exists. An entry refers to its leaf weakly: a hook never
// keeps a tensor alive, and never fires for a new tensor that happens to
// reuse a dead one's address.

#include <cstdint>
#include <functional>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::autograd {

/// Receives the leaf; its .grad() holds the accumulated gradient.
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

/// Owns one registered hook and removes it when destroyed (or on remove()).
/// Move-only; a default-constructed handle owns nothing.
class HookHandle {
 public:
  HookHandle() = default;
  ~HookHandle();
  HookHandle(HookHandle&& other) noexcept;
  HookHandle& operator=(HookHandle&& other) noexcept;
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;

  /// Unregisters the hook now (idempotent).
  void remove();
  bool active() const {
    return id_ != 0;
  }

 private:
  friend HookHandle register_post_accumulate_grad_hook(
      const Tensor& leaf, PostAccumulateGradHook hook);
  explicit HookHandle(uint64_t id) : id_(id) {}
  uint64_t id_ = 0;
};

/// Calls `hook(leaf)` each time backward() accumulates into leaf.grad(),
/// after the accumulation (autograd::grad, which leaves .grad() alone, does
/// not call it). Several hooks on one leaf run in registration order. The
/// leaf must be a leaf that requires grad. Hooks run on the thread that
/// called backward(); an exception from a hook ends that backward.
/// ```cpp
/// auto h = autograd::register_post_accumulate_grad_hook(
///     w, [](const Tensor& leaf) { std::cout << leaf.grad() << "\n"; });
/// ```
[[nodiscard]] HookHandle register_post_accumulate_grad_hook(
    const Tensor& leaf, PostAccumulateGradHook hook);

namespace detail {
/// The engine's call after accumulating into `acc`'s leaf.
void run_post_accumulate_grad_hooks(const AccumulateGrad& acc);
}  // namespace detail

}  // namespace voxgrad::autograd

VOXGRAD_PUBLIC_END
