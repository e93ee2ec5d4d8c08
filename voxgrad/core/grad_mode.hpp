#pragma once

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN
// Whether ops record the graph. Thread-local, as in PyTorch.

namespace voxgrad {
namespace autograd {

/// Whether ops record the graph; thread-local (PyTorch's GradMode). Set it
/// with NoGradGuard / AutoGradMode rather than directly.
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

}  // namespace autograd

/// Sets grad mode for the guard's lifetime and restores it after.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled)
      : prev_(autograd::GradMode::is_enabled()) {
    autograd::GradMode::set_enabled(enabled);
  }
  ~AutoGradMode() {
    autograd::GradMode::set_enabled(prev_);
  }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool prev_;
};

/// No graph is recorded while it lives (optimizer steps, evaluation):
/// ```cpp
/// { voxgrad::NoGradGuard g; w.copy_(w - lr * w.grad()); }
/// ```
class NoGradGuard : public AutoGradMode {
 public:
  NoGradGuard() : AutoGradMode(false) {}
};

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
