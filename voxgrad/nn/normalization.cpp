#include "voxgrad/nn/normalization.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {

namespace {

/// A per-channel tensor (C) of the right shape and dtype, or undefined.
void check_channel_vector(
    const Tensor& t, const char* name, const Tensor& x, const char* op) {
  if (!t.defined())
    return;
  const int64_t c = x.size(1);
  VOXGRAD_CHECK(
      t.shape() == Shape{c}, op, ": ", name, " must have shape ",
      shape_str({c}), " (the input's channels), got ", shape_str(t.shape()),
      " for input ", shape_str(x.shape()));
  VOXGRAD_CHECK(
      t.dtype() == x.dtype(), op, ": ", name, " is ", dtype_name(t.dtype()),
      " but the input is ", dtype_name(x.dtype()),
      "; convert one with .to(...)");
}

void check_rank2(const Tensor& x, const char* op) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      x.dim() >= 2, op,
      ": expected an input (N, C, *) of at least 2 dimensions, got ",
      shape_str(x.shape()));
}

/// Module-level dtype check against a parameter or buffer.
void check_module_dtype(const Tensor& x, const Tensor& p, const char* module) {
  VOXGRAD_CHECK(
      !p.defined() || p.dtype() == x.dtype(), module, ": the input is ",
      dtype_name(x.dtype()), " but the module holds ", dtype_name(p.dtype()),
      "; convert the input with .to(...) or the module with .to(dtype)");
}

std::string bool_str(bool b) {
  return b ? "true" : "false";
}

}  // namespace

// ---- BatchNorm3d ------------------------------------------------------------

BatchNorm3dImpl::BatchNorm3dImpl(const BatchNorm3dOptions& options)
    : options_(options) {
  const int64_t c = options.num_features();
  VOXGRAD_CHECK(c >= 1, "BatchNorm3d: num_features must be >= 1 (got ", c, ")");
  VOXGRAD_CHECK(
      options.eps() >= 0 && std::isfinite(options.eps()),
      "BatchNorm3d: eps must be finite and >= 0 (got ", options.eps(), ")");
  VOXGRAD_CHECK(
      !options.momentum() || std::isfinite(*options.momentum()),
      "BatchNorm3d: momentum must be finite (got ",
      options.momentum().value_or(0), ")");
  if (options.affine()) {
    weight_ = register_parameter("weight", empty({c}));
    bias_ = register_parameter("bias", empty({c}));
  }
  if (options.track_running_stats()) {
    running_mean_ = register_buffer("running_mean", empty({c}));
    running_var_ = register_buffer("running_var", empty({c}));
    num_batches_tracked_ = register_buffer("num_batches_tracked", empty({}));
  }
  reset_parameters();
}

void BatchNorm3dImpl::reset_running_stats() {
  if (!options_.track_running_stats())
    return;
  NoGradGuard no_grad;
  running_mean_.zero_();
  running_var_.fill_(1.0);
  num_batches_tracked_.zero_();
}

void BatchNorm3dImpl::reset_parameters() {
  reset_running_stats();
  if (options_.affine()) {
    init::ones_(weight_);
    init::zeros_(bias_);
  }
}

Tensor BatchNorm3dImpl::forward(const Tensor& x) {
  const int64_t c = options_.num_features();
  VOXGRAD_CHECK(x.defined(), "BatchNorm3d: the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 5 && x.size(1) == c,
      "BatchNorm3d: expected a 5-D input (N, C, D, H, W) with C = ", c,
      ", got ", shape_str(x.shape()));
  check_module_dtype(
      x, options_.affine() ? weight_ : running_mean_, name().c_str());
  const bool track = options_.track_running_stats();
  VOXGRAD_CHECK(
      !is_training() || x.numel() / c != 1,
      "BatchNorm3d: expected more than 1 value per channel when training, got "
      "input ",
      shape_str(x.shape()), " (use a larger batch or spatial size, or eval())");
  double factor = 0;
  if (is_training() && track) {
    NoGradGuard no_grad;
    const double n = num_batches_tracked_.item() + 1;
    num_batches_tracked_.fill_(n);
    factor = options_.momentum() ? *options_.momentum() : 1.0 / n;
  }
  // Eval without running stats normalises with batch statistics (PyTorch).
  return functional::batch_norm(
      x, running_mean_, running_var_, weight_, bias_, is_training() || !track,
      factor, options_.eps());
}

std::string BatchNorm3dImpl::extra_repr() const {
  std::ostringstream os;
  os << options_.num_features() << ", eps=" << options_.eps() << ", momentum=";
  if (options_.momentum())
    os << *options_.momentum();
  else
    os << "None";
  os << ", affine=" << bool_str(options_.affine())
     << ", track_running_stats=" << bool_str(options_.track_running_stats());
  return os.str();
}

// ---- GroupNorm --------------------------------------------------------------

GroupNormImpl::GroupNormImpl(const GroupNormOptions& options)
    : options_(options) {
  const int64_t g = options.num_groups(), c = options.num_channels();
  VOXGRAD_CHECK(
      g >= 1 && c >= 1 && c % g == 0, "GroupNorm: num_channels (", c,
      ") must be a positive multiple of num_groups (", g, ")");
  VOXGRAD_CHECK(
      options.eps() >= 0 && std::isfinite(options.eps()),
      "GroupNorm: eps must be finite and >= 0 (got ", options.eps(), ")");
  if (options.affine()) {
    weight_ = register_parameter("weight", empty({c}));
    bias_ = register_parameter("bias", empty({c}));
  }
  reset_parameters();
}

void GroupNormImpl::reset_parameters() {
  if (options_.affine()) {
    init::ones_(weight_);
    init::zeros_(bias_);
  }
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  const int64_t c = options_.num_channels();
  VOXGRAD_CHECK(x.defined(), "GroupNorm: the input is undefined");
  VOXGRAD_CHECK(
      x.dim() >= 2 && x.size(1) == c,
      "GroupNorm: expected an input (N, C, *) with C = ", c, ", got ",
      shape_str(x.shape()));
  check_module_dtype(x, weight_, "GroupNorm");
  return functional::group_norm(
      x, options_.num_groups(), weight_, bias_, options_.eps());
}

std::string GroupNormImpl::extra_repr() const {
  std::ostringstream os;
  os << options_.num_groups() << ", " << options_.num_channels()
     << ", eps=" << options_.eps()
     << ", affine=" << bool_str(options_.affine());
  return os.str();
}

// ---- functional -------------------------------------------------------------

namespace functional {

Tensor batch_norm(
    const Tensor& x,
    const Tensor& running_mean,
    const Tensor& running_var,
    const Tensor& weight,
    const Tensor& bias,
    bool training,
    double momentum,
    double eps) {
  constexpr const char* op = "batch_norm";
  check_rank2(x, op);
  check_channel_vector(running_mean, "running_mean", x, op);
  check_channel_vector(running_var, "running_var", x, op);
  check_channel_vector(weight, "weight", x, op);
  check_channel_vector(bias, "bias", x, op);
  const int64_t c = x.size(1);
  Shape bshape(static_cast<size_t>(x.dim()), 1);
  bshape[1] = c;
  auto per_channel = [&](const Tensor& t) { return t.reshape(bshape); };

  if (!training) {
    VOXGRAD_CHECK(
        running_mean.defined() && running_var.defined(), op,
        ": running_mean and running_var are needed when not training");
    // y = x * scale + shift: two passes over x.
    Tensor scale = 1.0 / sqrt(per_channel(running_var) + eps);
    if (weight.defined())
      scale = scale * per_channel(weight);
    Tensor shift = -(per_channel(running_mean) * scale);
    if (bias.defined())
      shift = shift + per_channel(bias);
    return x * scale + shift;
  }

  std::vector<int64_t> axes{0};
  for (int64_t a = 2; a < x.dim(); ++a)
    axes.push_back(a);
  const int64_t n = c > 0 ? x.numel() / c : 0;
  VOXGRAD_CHECK(
      n > 1, op,
      ": expected more than 1 value per channel when training, got input ",
      shape_str(x.shape()));
  const Tensor mean = x.mean(axes, true);
  const Tensor centered = x - mean;
  const Tensor var = (centered * centered).mean(axes, true);  // biased
  if (running_mean.defined() || running_var.defined()) {
    NoGradGuard no_grad;
    if (running_mean.defined()) {
      Tensor(running_mean)
          .copy_(running_mean * (1 - momentum) + mean.reshape({c}) * momentum);
    }
    if (running_var.defined()) {
      // The running variance is the unbiased one (PyTorch).
      const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
      Tensor(running_var)
          .copy_(
              running_var * (1 - momentum) +
              var.reshape({c}) * (momentum * unbias));
    }
  }
  Tensor scale = 1.0 / sqrt(var + eps);
  if (weight.defined())
    scale = scale * per_channel(weight);
  Tensor y = centered * scale;
  return bias.defined() ? y + per_channel(bias) : y;
}

Tensor group_norm(
    const Tensor& x,
    int64_t num_groups,
    const Tensor& weight,
    const Tensor& bias,
    double eps) {
  constexpr const char* op = "group_norm";
  check_rank2(x, op);
  const int64_t n = x.size(0), c = x.size(1), g = num_groups;
  VOXGRAD_CHECK(
      g >= 1 && c % g == 0, op, ": the input's channels (", c,
      ") must be a multiple of num_groups (", g, "); input ",
      shape_str(x.shape()));
  check_channel_vector(weight, "weight", x, op);
  check_channel_vector(bias, "bias", x, op);
  const int64_t s = n * c > 0 ? x.numel() / (n * c) : 0;
  // (N, G, C/G, S): statistics over the last two axes, per-channel affine
  // folded into one (N, G, C/G, 1) scale so the activation sees two passes.
  const Tensor x4 = x.reshape({n, g, c / g, s});
  const Tensor mean = x4.mean({2, 3}, true);
  const Tensor centered = x4 - mean;
  const Tensor var = (centered * centered).mean({2, 3}, true);
  Tensor scale = 1.0 / sqrt(var + eps);
  if (weight.defined())
    scale = scale * weight.reshape({1, g, c / g, 1});
  Tensor y = centered * scale;
  if (bias.defined())
    y = y + bias.reshape({1, g, c / g, 1});
  return y.reshape(x.shape());
}

}  // namespace functional
}  // namespace voxgrad::nn
