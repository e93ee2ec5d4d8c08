#include "voxgrad/nn/instance_norm.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {

InstanceNorm3dImpl::InstanceNorm3dImpl(const InstanceNorm3dOptions& options)
    : options_(options) {
  const int64_t c = options.num_features();
  VOXGRAD_CHECK(
      c >= 1, "InstanceNorm3d: num_features must be >= 1 (got ", c, ")");
  VOXGRAD_CHECK(
      options.eps() >= 0 && std::isfinite(options.eps()),
      "InstanceNorm3d: eps must be finite and >= 0 (got ", options.eps(), ")");
  VOXGRAD_CHECK(
      std::isfinite(options.momentum()),
      "InstanceNorm3d: momentum must be finite (got ", options.momentum(), ")");
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

void InstanceNorm3dImpl::reset_running_stats() {
  if (!options_.track_running_stats())
    return;
  NoGradGuard no_grad;
  running_mean_.zero_();
  running_var_.fill_(1.0);
  num_batches_tracked_.zero_();
}

void InstanceNorm3dImpl::reset_parameters() {
  reset_running_stats();
  if (options_.affine()) {
    init::ones_(weight_);
    init::zeros_(bias_);
  }
}

Tensor InstanceNorm3dImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "InstanceNorm3d: the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 4 || x.dim() == 5,
      "InstanceNorm3d: expected a 5-D input (N, C, D, H, W) or unbatched 4-D ",
      "(C, D, H, W), got ", shape_str(x.shape()));
  const bool unbatched = x.dim() == 4;
  const Tensor x5 = unbatched ? x.unsqueeze(0) : x;
  const int64_t c = options_.num_features();
  // PyTorch only warns about another channel count when there is no
  // per-channel state; with some, it cannot work.
  VOXGRAD_CHECK(
      x5.size(1) == c ||
          (!options_.affine() && !options_.track_running_stats()),
      "InstanceNorm3d: expected the input's channels (axis ", unbatched ? 0 : 1,
      ") to equal num_features ", c, ", got input ", shape_str(x.shape()));
  const Tensor& like = options_.affine() ? weight_ : running_mean_;
  VOXGRAD_CHECK(
      !like.defined() || like.dtype() == x.dtype(), "InstanceNorm3d: the ",
      "input is ", dtype_name(x.dtype()), " but the module holds ",
      dtype_name(like.dtype()),
      "; convert the input with .to(...) or the module with .to(dtype)");
  const Tensor y = functional::instance_norm(
      x5, functional::InstanceNormFuncOptions()
              .running_mean(running_mean_)
              .running_var(running_var_)
              .weight(weight_)
              .bias(bias_)
              .use_input_stats(is_training() || !options_.track_running_stats())
              .momentum(options_.momentum())
              .eps(options_.eps()));
  return unbatched ? y.squeeze(0) : y;
}

std::string InstanceNorm3dImpl::extra_repr() const {
  std::ostringstream os;
  os << options_.num_features() << ", eps=" << options_.eps()
     << ", momentum=" << options_.momentum()
     << ", affine=" << (options_.affine() ? "true" : "false")
     << ", track_running_stats="
     << (options_.track_running_stats() ? "true" : "false");
  return os.str();
}

namespace functional {

Tensor instance_norm(const Tensor& x, const InstanceNormFuncOptions& o) {
  constexpr const char* op = "instance_norm";
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      x.dim() >= 3, op, ": expected an input (N, C, *) with at least one ",
      "spatial axis, got ", shape_str(x.shape()));
  const int64_t n = x.size(0), c = x.size(1);
  for (const auto& [t, name] :
       {std::pair{&o.running_mean(), "running_mean"},
        {&o.running_var(), "running_var"},
        {&o.weight(), "weight"},
        {&o.bias(), "bias"}}) {
    if (!t->defined())
      continue;
    VOXGRAD_CHECK(
        t->shape() == Shape{c} && t->dtype() == x.dtype(), op, ": ", name,
        " must be ", dtype_name(x.dtype()), " of shape ", shape_str({c}),
        " (the input's channels), got ", dtype_name(t->dtype()), " ",
        shape_str(t->shape()), " for input ", shape_str(x.shape()));
  }
  VOXGRAD_CHECK(
      o.eps() >= 0 && std::isfinite(o.eps()) && std::isfinite(o.momentum()), op,
      ": eps must be finite and >= 0 and momentum finite (got eps ", o.eps(),
      ", momentum ", o.momentum(), ")");
  Shape cshape(static_cast<size_t>(x.dim()), 1);
  cshape[1] = c;
  auto per_channel = [&](const Tensor& t) { return t.reshape(cshape); };

  if (!o.use_input_stats()) {
    VOXGRAD_CHECK(
        o.running_mean().defined() && o.running_var().defined(), op,
        ": running_mean and running_var are needed when use_input_stats is "
        "false");
    Tensor scale = 1.0 / sqrt(per_channel(o.running_var()) + o.eps());
    if (o.weight().defined())
      scale = scale * per_channel(o.weight());
    Tensor shift = -(per_channel(o.running_mean()) * scale);
    if (o.bias().defined())
      shift = shift + per_channel(o.bias());
    return x * scale + shift;
  }

  std::vector<int64_t> axes;
  int64_t s = 1;  // spatial elements per instance
  for (int64_t a = 2; a < x.dim(); ++a) {
    axes.push_back(a);
    s *= x.size(a);
  }
  VOXGRAD_CHECK(
      s > 1, op, ": expected more than 1 spatial element when using the ",
      "input's statistics (training), got input ", shape_str(x.shape()));
  const Tensor mean = x.mean(axes, true);
  const Tensor centered = x - mean;
  const Tensor var = (centered * centered).mean(axes, true);  // biased
  if (o.running_mean().defined() || o.running_var().defined()) {
    // PyTorch runs batch norm on (1, N*C, *) with the running stats
    // repeated N times, then averages the N updated copies: the update
    // uses the batch mean of the per-instance statistics.
    NoGradGuard no_grad;
    const double m = o.momentum();
    if (o.running_mean().defined()) {
      o.running_mean().copy_(
          o.running_mean() * (1 - m) + mean.reshape({n, c}).mean({0}) * m);
    }
    if (o.running_var().defined()) {
      const double unbias = static_cast<double>(s) / static_cast<double>(s - 1);
      o.running_var().copy_(
          o.running_var() * (1 - m) +
          var.reshape({n, c}).mean({0}) * (m * unbias));
    }
  }
  Tensor scale = 1.0 / sqrt(var + o.eps());
  if (o.weight().defined())
    scale = scale * per_channel(o.weight());
  const Tensor y = centered * scale;
  return o.bias().defined() ? y + per_channel(o.bias()) : y;
}

}  // namespace functional
}  // namespace voxgrad::nn
