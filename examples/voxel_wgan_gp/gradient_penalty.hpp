#pragma once
// The WGAN-GP gradient penalty and a finite-difference check of its
// gradient with respect to the critic's weights.
//
// penalty = lambda * mean_i (||d critic(x_i) / d x_i||_2 - 1)^2 at points
// x_i = a_i real_i + (1 - a_i) fake_i on lines between real and generated
// samples. Training the critic on it needs d penalty / d weights: the
// derivative of a derivative, i.e. double backward through Conv3d (whose
// input gradient is a ConvTranspose3d) and Linear.

#include <cstdint>
#include <functional>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

/// `critic` maps (N, 1, R, R, R) to (N, 1). `alpha` (N, 1, 1, 1, 1) in [0, 1].
/// The result is differentiable w.r.t. the critic's weights.
Tensor gradient_penalty(
    const std::function<Tensor(const Tensor&)>& critic,
    const Tensor& real,
    const Tensor& fake,
    const Tensor& alpha,
    double lambda);

struct PenaltyCheck {
  int entries = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;  // |autograd - fd| / max(|fd|, 1e-3)
  bool ok = false;
};

/// Compares autograd's d penalty / d w with central differences
/// (step 1e-6, float64) at `per_tensor` random entries of every parameter
/// tensor in `params` (which must be float64 and used by `critic`), printing
/// one line per entry. Tolerance: |error| <= 1e-5 + 1e-3 |fd| (PyTorch's
/// gradcheck defaults).
PenaltyCheck check_penalty_gradient(
    const std::function<Tensor(const Tensor&)>& critic,
    const TensorList& params,
    const Tensor& real,
    const Tensor& fake,
    const Tensor& alpha,
    double lambda,
    int per_tensor,
    uint64_t seed);

}  // namespace voxgrad::examples
