#pragma once
// Finite-difference checks of autograd, for voxgrad's ops and users' own.

#include <functional>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// PyTorch's defaults, meant for float64.
struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  /// Seed of the random output projections (used when the output has more
  /// than `full_jacobian_max_outputs` elements).
  uint64_t seed = 0;
  int64_t full_jacobian_max_outputs = 16;
  int random_projections = 4;
  /// Throw voxgrad::Error describing the first mismatch instead of
  /// returning false.
  bool raise_exception = true;
};

using GradcheckFn = std::function<Tensor(const TensorList&)>;

/// Compares autograd's gradients of `fn` at `inputs` with central
/// differences, for every input that requires grad (these must be float64).
/// Small outputs are checked row by row (the full Jacobian), larger ones
/// through random projections <u, J>, exactly as many backward sweeps.
/// ```cpp
/// auto x = randn({3, 4}, kFloat64).requires_grad_();
/// gradcheck([](const TensorList& in) { return tanh(in[0]); }, {x});
/// ```
bool gradcheck(
    const GradcheckFn& fn,
    const TensorList& inputs,
    const GradcheckOptions& options = {});

/// gradcheck of the gradient itself: differentiates
/// (inputs, u) -> autograd::grad(fn(inputs), inputs, u, create_graph=true),
/// so second derivatives (double backward) are checked too.
bool gradgradcheck(
    const GradcheckFn& fn,
    const TensorList& inputs,
    const GradcheckOptions& options = {});

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
