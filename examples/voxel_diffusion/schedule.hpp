#pragma once
// The forward (noising) process of DDPM (Ho, Jain, Abbeel 2020): a variance
// schedule beta_1..beta_T and what follows from it, kept in double so that
// 1 - alpha_bar_t near t = 0 and sqrt(alpha_bar_t) near t = T keep their
// digits whatever the tensors' dtype.
//
//   q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I),
//   alpha_t = 1 - beta_t,  alpha_bar_t = alpha_1 ... alpha_t.
//
// Timesteps are 0-based here, t in [0, T), as in diffusers' DDPMScheduler
// (whose names this follows: betas, alphas_cumprod, add_noise,
// get_velocity).
//
// Two schedules:
// - linear (Ho et al.): beta from 1e-4 to 0.02 over T = 1000 steps; for
//   another T both ends are scaled by 1000 / T (improved DDPM's
//   get_named_beta_schedule), so alpha_bar_T stays near zero for any T
//   (T >= 21, so that the last beta, 20 / T, stays below 1);
// - cosine (Nichol & Dhariwal 2021): alpha_bar(t) = f(t) / f(0),
//   f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), s = 0.008, each beta
//   clipped to 0.999.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

enum class BetaSchedule { Linear, Cosine };

/// "linear" or "cosine"; anything else is a voxgrad::Error naming it.
BetaSchedule parse_beta_schedule(const std::string& name);
const char* beta_schedule_name(BetaSchedule schedule);

class NoiseSchedule {
 public:
  /// T = num_train_timesteps in [2, 100000].
  NoiseSchedule(BetaSchedule schedule, int64_t num_train_timesteps);

  BetaSchedule schedule() const {
    return schedule_;
  }
  int64_t num_train_timesteps() const {
    return static_cast<int64_t>(betas_.size());
  }
  const std::vector<double>& betas() const {
    return betas_;
  }
  /// alpha_bar_t for t in [0, T).
  const std::vector<double>& alphas_cumprod() const {
    return alphas_cumprod_;
  }
  double beta(int64_t t) const;
  double alpha_bar(int64_t t) const;
  /// alpha_bar_{t-1}, and 1 for t = 0 (no noise before the first step).
  double alpha_bar_prev(int64_t t) const;

  /// x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise, one t per
  /// sample: x0 and noise (N, ...) of one shape and dtype, t N values in
  /// [0, T). Differentiable in x0 and noise.
  Tensor add_noise(
      const Tensor& x0,
      const Tensor& noise,
      const std::vector<int64_t>& t) const;
  /// The velocity v = sqrt(alpha_bar_t) noise - sqrt(1 - alpha_bar_t) x0
  /// (Salimans & Ho 2022), the target of a v-predicting network; arguments
  /// as add_noise's.
  Tensor get_velocity(
      const Tensor& x0,
      const Tensor& noise,
      const std::vector<int64_t>& t) const;
  /// The noise of x_t given its velocity:
  /// eps = sqrt(alpha_bar_t) v + sqrt(1 - alpha_bar_t) x_t.
  Tensor epsilon_from_velocity(
      const Tensor& x_t, const Tensor& v, const std::vector<int64_t>& t) const;

 private:
  void check_t(int64_t t, const char* what) const;
  /// Per-sample sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t), shaped (N, 1,
  /// ...) in p's dtype, after checking p and q (same shape and dtype) and t.
  std::pair<Tensor, Tensor> coefficients(
      const char* op,
      const Tensor& p,
      const Tensor& q,
      const std::vector<int64_t>& t) const;

  BetaSchedule schedule_;
  std::vector<double> betas_, alphas_cumprod_;
};

}  // namespace voxgrad::examples
