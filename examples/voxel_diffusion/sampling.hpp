#pragma once
// The reverse process: from pure noise x_T to a sample x_0, with a network
// that predicts the noise eps(x_t, t) (voxel_diffusion's U-Net, or any
// function in the tests).
//
// - DDPM ancestral sampling (Ho et al. 2020, Algorithm 2), T steps:
//     x0_hat = clip((x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), -1, 1)
//     x_{t-1} = c0 x0_hat + c1 x_t + sqrt(beta~_t) z,
//     c0 = beta_t sqrt(abar_{t-1}) / (1 - abar_t),
//     c1 = (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t),
//     beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)
//   (the posterior q(x_{t-1} | x_t, x0_hat): the "fixed small" variance
//   and the clipped x0 of the authors' code; no noise at t = 0).
// - DDIM (Song, Meng, Ermon 2021), S <= T steps on the timesteps
//   tau_i = round((i + 1) T / S) - 1 ("trailing": the first step starts at
//   t = T - 1, where x_T is pure noise, for any S):
//     x0_hat as above, eps' = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t)
//     sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t /
//             abar_prev)
//     x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps'
//              + sigma z
//   eta = 0 is deterministic; eta = 1 with S = T is DDPM's step above
//   (the tests check it). eps' is recomputed from the clipped x0_hat so
//   the two stay consistent.
//
// Noise comes from the Generator given, drawn as whole tensors in a fixed
// order (x_T, then one z per step that has noise), so a sample depends only
// on the network, the seed and the settings, never on threads.

#include <cstdint>
#include <functional>
#include <vector>

#include "schedule.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

/// eps predicted for x_t (N, ...) at the timesteps t (N,) of x's dtype.
using NoisePredictor = std::function<Tensor(const Tensor& x, const Tensor& t)>;

/// Called after each step with (step index from 0, timestep just
/// denoised, x0_hat of that step, x after it).
using SamplingCallback = std::function<void(
    int64_t step, int64_t t, const Tensor& x0_hat, const Tensor& x)>;

/// x_{t-1} from x_t and the predicted eps; `z` is the step's N(0, I) noise
/// (ignored, and may be undefined, at t = 0).
Tensor ddpm_step(
    const NoiseSchedule& schedule,
    const Tensor& x_t,
    const Tensor& eps,
    int64_t t,
    const Tensor& z);

/// The DDIM update from timestep t to t_prev (-1: to x_0); `z` is used only
/// when sigma > 0.
Tensor ddim_step(
    const NoiseSchedule& schedule,
    const Tensor& x_t,
    const Tensor& eps,
    int64_t t,
    int64_t t_prev,
    double eta,
    const Tensor& z);

/// The S trailing DDIM timesteps, increasing: tau_i = round((i+1) T / S) - 1.
std::vector<int64_t> ddim_timesteps(int64_t num_train_timesteps, int64_t steps);

/// T ancestral steps from x_T ~ N(0, I) of `shape` and `dtype`.
Tensor ddpm_sample(
    const NoisePredictor& model,
    const NoiseSchedule& schedule,
    const Shape& shape,
    Generator& gen,
    Dtype dtype = kFloat32,
    const SamplingCallback& callback = {});

/// `steps` DDIM steps (1 <= steps <= T) with stochasticity `eta` in [0, 1].
Tensor ddim_sample(
    const NoisePredictor& model,
    const NoiseSchedule& schedule,
    const Shape& shape,
    int64_t steps,
    double eta,
    Generator& gen,
    Dtype dtype = kFloat32,
    const SamplingCallback& callback = {});

}  // namespace voxgrad::examples
