#include "sampling.hpp"

#include <cmath>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::examples {
namespace {

void check_pair(const Tensor& x_t, const Tensor& eps, const char* what) {
  VOXGRAD_CHECK(
      x_t.defined() && eps.defined(), what, ": x_t and eps must be defined");
  VOXGRAD_CHECK(
      x_t.shape() == eps.shape() && x_t.dtype() == eps.dtype(), what, ": x_t ",
      shape_str(x_t.shape()), " ", dtype_name(x_t.dtype()), " and eps ",
      shape_str(eps.shape()), " ", dtype_name(eps.dtype()),
      " must have one shape and dtype");
}

void check_noise(const Tensor& x_t, const Tensor& z, const char* what) {
  VOXGRAD_CHECK(
      z.defined() && z.shape() == x_t.shape() && z.dtype() == x_t.dtype(), what,
      ": the step needs noise z of x_t's shape ", shape_str(x_t.shape()),
      " and dtype ", dtype_name(x_t.dtype()), " (got ",
      z.defined() ? shape_str(z.shape()) + " " + dtype_name(z.dtype())
                  : std::string("undefined"),
      ")");
}

// x0_hat = clip((x_t - sqrt(1 - abar) eps) / sqrt(abar), -1, 1).
Tensor predict_x0(const Tensor& x_t, const Tensor& eps, double abar) {
  return clamp(
      (x_t - eps * std::sqrt(1 - abar)) * (1 / std::sqrt(abar)), -1.0, 1.0);
}

Tensor timestep_tensor(int64_t n, int64_t t, Dtype dtype) {
  return full({n}, static_cast<double>(t), dtype);
}

void check_shape(const Shape& shape, const char* what) {
  VOXGRAD_CHECK(
      !shape.empty() && shape[0] >= 1, what,
      ": the sample shape must be (N, ...) with N >= 1 (got ", shape_str(shape),
      ")");
}

}  // namespace

Tensor ddpm_step(
    const NoiseSchedule& s,
    const Tensor& x_t,
    const Tensor& eps,
    int64_t t,
    const Tensor& z) {
  check_pair(x_t, eps, "ddpm_step");
  const double beta = s.beta(t), abar = s.alpha_bar(t),
               abar_prev = s.alpha_bar_prev(t);
  const double c0 = beta * std::sqrt(abar_prev) / (1 - abar);
  const double c1 = (1 - abar_prev) * std::sqrt(1 - beta) / (1 - abar);
  const Tensor mean = predict_x0(x_t, eps, abar) * c0 + x_t * c1;
  if (t == 0)
    return mean;
  check_noise(x_t, z, "ddpm_step");
  const double var = beta * (1 - abar_prev) / (1 - abar);
  return mean + z * std::sqrt(var);
}

Tensor ddim_step(
    const NoiseSchedule& s,
    const Tensor& x_t,
    const Tensor& eps,
    int64_t t,
    int64_t t_prev,
    double eta,
    const Tensor& z) {
  check_pair(x_t, eps, "ddim_step");
  VOXGRAD_CHECK(
      std::isfinite(eta) && eta >= 0 && eta <= 1,
      "ddim_step: eta must be in [0, 1] (got ", eta, ")");
  VOXGRAD_CHECK(
      t_prev >= -1 && t_prev < t, "ddim_step: t_prev must be in [-1, t = ", t,
      ") (got ", t_prev, ")");
  const double abar = s.alpha_bar(t);
  const double abar_prev = t_prev < 0 ? 1.0 : s.alpha_bar(t_prev);
  const Tensor x0 = predict_x0(x_t, eps, abar);
  const Tensor eps_x0 =
      (x_t - x0 * std::sqrt(abar)) * (1 / std::sqrt(1 - abar));
  const double sigma = eta * std::sqrt((1 - abar_prev) / (1 - abar)) *
                       std::sqrt(1 - abar / abar_prev);
  // 1 - abar_prev - sigma^2 >= 0 mathematically; rounding may dip below.
  const double dir = std::sqrt(std::max(0.0, 1 - abar_prev - sigma * sigma));
  Tensor x = x0 * std::sqrt(abar_prev) + eps_x0 * dir;
  if (sigma > 0) {
    check_noise(x_t, z, "ddim_step");
    x = x + z * sigma;
  }
  return x;
}

std::vector<int64_t> ddim_timesteps(int64_t T, int64_t steps) {
  VOXGRAD_CHECK(
      T >= 2, "ddim_timesteps: num_train_timesteps must be >= 2 (got ", T, ")");
  VOXGRAD_CHECK(
      steps >= 1 && steps <= T, "ddim_timesteps: steps must be in [1, ", T,
      "] (the training timesteps; got ", steps, ")");
  std::vector<int64_t> tau(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i)  // round((i + 1) T / S) - 1, exactly
    tau[static_cast<size_t>(i)] = (2 * (i + 1) * T + steps) / (2 * steps) - 1;
  return tau;
}

Tensor ddpm_sample(
    const NoisePredictor& model,
    const NoiseSchedule& schedule,
    const Shape& shape,
    Generator& gen,
    Dtype dtype,
    const SamplingCallback& callback) {
  check_shape(shape, "ddpm_sample");
  NoGradGuard no_grad;
  Tensor x = randn(shape, dtype, &gen);
  const int64_t T = schedule.num_train_timesteps();
  for (int64_t t = T - 1; t >= 0; --t) {
    const Tensor eps = model(x, timestep_tensor(shape[0], t, dtype));
    const Tensor z = t > 0 ? randn(shape, dtype, &gen) : Tensor();
    const Tensor x_t = x;
    x = ddpm_step(schedule, x_t, eps, t, z);
    if (callback)
      callback(T - 1 - t, t, predict_x0(x_t, eps, schedule.alpha_bar(t)), x);
  }
  return x;
}

Tensor ddim_sample(
    const NoisePredictor& model,
    const NoiseSchedule& schedule,
    const Shape& shape,
    int64_t steps,
    double eta,
    Generator& gen,
    Dtype dtype,
    const SamplingCallback& callback) {
  check_shape(shape, "ddim_sample");
  VOXGRAD_CHECK(
      std::isfinite(eta) && eta >= 0 && eta <= 1,
      "ddim_sample: eta must be in [0, 1] (got ", eta, ")");
  const std::vector<int64_t> tau =
      ddim_timesteps(schedule.num_train_timesteps(), steps);
  NoGradGuard no_grad;
  Tensor x = randn(shape, dtype, &gen);
  for (int64_t i = steps - 1; i >= 0; --i) {
    const int64_t t = tau[static_cast<size_t>(i)];
    const int64_t t_prev = i > 0 ? tau[static_cast<size_t>(i - 1)] : -1;
    const Tensor eps = model(x, timestep_tensor(shape[0], t, dtype));
    // Noise is drawn exactly when the step uses it (sigma > 0).
    const bool noisy = eta > 0 && t_prev >= 0;
    const Tensor z = noisy ? randn(shape, dtype, &gen) : Tensor();
    const Tensor x_t = x;
    x = ddim_step(schedule, x_t, eps, t, t_prev, eta, z);
    if (callback)
      callback(
          steps - 1 - i, t, predict_x0(x_t, eps, schedule.alpha_bar(t)), x);
  }
  return x;
}

}  // namespace voxgrad::examples
