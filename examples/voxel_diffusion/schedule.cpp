#include "schedule.hpp"

#include <cmath>
#include <numbers>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

BetaSchedule parse_beta_schedule(const std::string& name) {
  if (name == "linear")
    return BetaSchedule::Linear;
  if (name == "cosine")
    return BetaSchedule::Cosine;
  throw Error(
      "beta schedule must be 'linear' or 'cosine' (got '" + name + "')");
}

const char* beta_schedule_name(BetaSchedule schedule) {
  return schedule == BetaSchedule::Linear ? "linear" : "cosine";
}

NoiseSchedule::NoiseSchedule(BetaSchedule schedule, int64_t T)
    : schedule_(schedule) {
  VOXGRAD_CHECK(
      T >= 2 && T <= 100000,
      "NoiseSchedule: num_train_timesteps must be in [2, 100000] (got ", T,
      ")");
  VOXGRAD_CHECK(
      schedule != BetaSchedule::Linear || T >= 21,
      "NoiseSchedule: the linear schedule needs num_train_timesteps >= 21 "
      "(its betas are scaled by 1000 / T, and the last, 20 / T, must be "
      "< 1; got ",
      T, "); use more timesteps or the cosine schedule");
  betas_.resize(static_cast<size_t>(T));
  if (schedule == BetaSchedule::Linear) {
    // torch.linspace(scale * 1e-4, scale * 0.02, T) in float64.
    const double scale = 1000.0 / static_cast<double>(T);
    const double lo = scale * 1e-4, hi = scale * 0.02;
    for (int64_t i = 0; i < T; ++i)
      betas_[static_cast<size_t>(i)] =
          lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(T - 1);
  } else {
    constexpr double s = 0.008;
    const auto f = [&](double t) {
      const double c = std::cos(
          (t / static_cast<double>(T) + s) / (1 + s) * std::numbers::pi / 2);
      return c * c;
    };
    for (int64_t i = 0; i < T; ++i) {
      const auto t = static_cast<double>(i);
      betas_[static_cast<size_t>(i)] = std::min(1 - f(t + 1) / f(t), 0.999);
    }
  }
  alphas_cumprod_.resize(betas_.size());
  double prod = 1;
  for (size_t i = 0; i < betas_.size(); ++i) {
    VOXGRAD_CHECK(
        betas_[i] > 0 && betas_[i] < 1, "NoiseSchedule: beta_", i, " = ",
        betas_[i], " is outside (0, 1) for ", beta_schedule_name(schedule),
        " with T = ", T);
    prod *= 1 - betas_[i];
    alphas_cumprod_[i] = prod;
  }
}

void NoiseSchedule::check_t(int64_t t, const char* what) const {
  VOXGRAD_CHECK(
      t >= 0 && t < num_train_timesteps(), "NoiseSchedule::", what,
      ": timestep must be in [0, ", num_train_timesteps(), ") (got ", t, ")");
}

double NoiseSchedule::beta(int64_t t) const {
  check_t(t, "beta");
  return betas_[static_cast<size_t>(t)];
}

double NoiseSchedule::alpha_bar(int64_t t) const {
  check_t(t, "alpha_bar");
  return alphas_cumprod_[static_cast<size_t>(t)];
}

double NoiseSchedule::alpha_bar_prev(int64_t t) const {
  check_t(t, "alpha_bar_prev");
  return t == 0 ? 1.0 : alphas_cumprod_[static_cast<size_t>(t - 1)];
}

std::pair<Tensor, Tensor> NoiseSchedule::coefficients(
    const char* op,
    const Tensor& p,
    const Tensor& q,
    const std::vector<int64_t>& t) const {
  VOXGRAD_CHECK(
      p.defined() && q.defined(), "NoiseSchedule::", op,
      ": both tensors must be defined");
  VOXGRAD_CHECK(
      p.dim() >= 1 && p.shape() == q.shape() && p.dtype() == q.dtype(),
      "NoiseSchedule::", op, ": ", shape_str(p.shape()), " ",
      dtype_name(p.dtype()), " and ", shape_str(q.shape()), " ",
      dtype_name(q.dtype()), " must have one shape and dtype, rank >= 1");
  VOXGRAD_CHECK(
      static_cast<int64_t>(t.size()) == p.size(0), "NoiseSchedule::", op, ": ",
      t.size(), " timesteps for a batch of ", p.size(0), " (one per sample)");
  std::vector<double> a(t.size()), b(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    check_t(t[i], op);
    a[i] = std::sqrt(alphas_cumprod_[static_cast<size_t>(t[i])]);
    b[i] = std::sqrt(1 - alphas_cumprod_[static_cast<size_t>(t[i])]);
  }
  Shape per_sample(static_cast<size_t>(p.dim()), 1);
  per_sample[0] = p.size(0);
  return {tensor(a, per_sample, p.dtype()), tensor(b, per_sample, p.dtype())};
}

Tensor NoiseSchedule::add_noise(
    const Tensor& x0,
    const Tensor& noise,
    const std::vector<int64_t>& t) const {
  const auto [a, b] = coefficients("add_noise", x0, noise, t);
  return x0 * a + noise * b;
}

Tensor NoiseSchedule::get_velocity(
    const Tensor& x0,
    const Tensor& noise,
    const std::vector<int64_t>& t) const {
  const auto [a, b] = coefficients("get_velocity", x0, noise, t);
  return noise * a - x0 * b;
}

Tensor NoiseSchedule::epsilon_from_velocity(
    const Tensor& x_t, const Tensor& v, const std::vector<int64_t>& t) const {
  const auto [a, b] = coefficients("epsilon_from_velocity", x_t, v, t);
  return v * a + x_t * b;
}

}  // namespace voxgrad::examples
