#include "voxgrad/nn/init.hpp"

#include <cmath>

#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::nn::init {
namespace {

Tensor fill_from(Tensor w, const Tensor& values) {
  NoGradGuard guard;
  w.copy_(values);
  return w;
}

double fan(const Tensor& w, FanMode mode) {
  const Fans f = calculate_fans(w);
  const int64_t n = mode == FanMode::FanIn ? f.fan_in : f.fan_out;
  VOXGRAD_CHECK(
      n > 0, "init: fan is 0 for a weight of shape ", shape_str(w.shape()));
  return static_cast<double>(n);
}

}  // namespace

Fans calculate_fans(const Tensor& w) {
  VOXGRAD_CHECK(
      w.defined() && w.dim() >= 2, "init: fans need a weight of at ",
      "least 2 dimensions (got ",
      w.defined() ? shape_str(w.shape()) : "undefined", ")");
  const Shape& s = w.shape();
  const size_t k0 = s.size() == 6 ? 3 : 2;  // first kernel axis
  int64_t rf = 1;
  for (size_t i = k0; i < s.size(); ++i)
    rf *= s[i];
  if (s.size() == 6)
    return {s[2] * rf, s[0] * s[1] * rf};
  return {s[1] * rf, s[0] * rf};
}

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid" ||
      nonlinearity.rfind("conv", 0) == 0)
    return 1.0;
  if (nonlinearity == "tanh")
    return 5.0 / 3.0;
  if (nonlinearity == "relu")
    return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu")
    return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu")
    return 0.75;
  VOXGRAD_FAIL(
      "calculate_gain: unknown nonlinearity '", nonlinearity,
      "' (expected linear, conv1d/2d/3d, sigmoid, tanh, relu, "
      "leaky_relu or selu)");
}

Tensor uniform_(Tensor w, double low, double high, Generator* gen) {
  return fill_from(w, uniform(w.shape(), low, high, w.dtype(), gen));
}

Tensor normal_(Tensor w, double mean, double std, Generator* gen) {
  return fill_from(w, normal(w.shape(), mean, std, w.dtype(), gen));
}

Tensor constant_(Tensor w, double value) {
  NoGradGuard guard;
  w.fill_(value);
  return w;
}

Tensor zeros_(Tensor w) {
  return constant_(w, 0.0);
}

Tensor ones_(Tensor w) {
  return constant_(w, 1.0);
}

Tensor xavier_uniform_(Tensor w, double gain, Generator* gen) {
  const Fans f = calculate_fans(w);
  const double a =
      gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
  return uniform_(w, -a, a, gen);
}

Tensor xavier_normal_(Tensor w, double gain, Generator* gen) {
  const Fans f = calculate_fans(w);
  return normal_(
      w, 0.0, gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out)),
      gen);
}

Tensor kaiming_uniform_(
    Tensor w,
    double a,
    FanMode mode,
    const std::string& nonlinearity,
    Generator* gen) {
  const double bound =
      calculate_gain(nonlinearity, a) * std::sqrt(3.0 / fan(w, mode));
  return uniform_(w, -bound, bound, gen);
}

Tensor kaiming_normal_(
    Tensor w,
    double a,
    FanMode mode,
    const std::string& nonlinearity,
    Generator* gen) {
  return normal_(
      w, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan(w, mode)), gen);
}

Tensor icnr_(
    Tensor w, const std::function<void(Tensor)>& init, int64_t upscale_factor) {
  const int64_t r = upscale_factor;
  VOXGRAD_CHECK(
      w.defined() && (w.dim() == 5 || w.dim() == 6),
      "icnr_: expected a conv weight (C_out, C_in, kd, kh, kw) or grouped ",
      "(g, C_out/g, C_in/g, kd, kh, kw), got ",
      w.defined() ? shape_str(w.shape()) : "undefined");
  VOXGRAD_CHECK(
      r >= 1 && r <= 1024, "icnr_: upscale_factor must be in [1, 1024] (got ",
      r, ")");
  const int64_t r3 = r * r * r;
  Shape sub = w.shape();
  const size_t oc = w.dim() == 6 ? 1 : 0;  // the (per-group) C_out axis
  VOXGRAD_CHECK(
      sub[oc] % r3 == 0, "icnr_: the weight's output channels",
      w.dim() == 6 ? " per group" : "", " (", sub[oc],
      ") must be divisible by upscale_factor^3 = ", r3, "; weight ",
      shape_str(w.shape()));
  sub[oc] /= r3;
  const Tensor w0 = empty(sub, w.dtype());
  init(w0);
  // (.., C_out/r^3, 1, rest) broadcast over the r^3 sub-positions.
  Shape spread(sub.begin(), sub.begin() + static_cast<int64_t>(oc) + 1);
  spread.push_back(1);
  spread.insert(
      spread.end(), sub.begin() + static_cast<int64_t>(oc) + 1, sub.end());
  Shape expanded = spread;
  expanded[oc + 1] = r3;
  NoGradGuard guard;
  w.copy_(w0.reshape(spread).expand(expanded).reshape(w.shape()));
  return w;
}

Tensor icnr_(Tensor w, int64_t upscale_factor, Generator* gen) {
  return icnr_(
      w,
      [gen](Tensor t) {
        kaiming_normal_(t, 0.0, FanMode::FanIn, "leaky_relu", gen);
      },
      upscale_factor);
}

}  // namespace voxgrad::nn::init
