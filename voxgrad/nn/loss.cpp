#include "voxgrad/nn/loss.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/ops.hpp"

namespace voxgrad::nn {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None:
      return "none";
    case Reduction::Sum:
      return "sum";
    case Reduction::BatchMean:
      return "batchmean";
    case Reduction::Mean:
      break;
  }
  return "mean";
}

namespace {

/// Reduces elementwise losses; batchmean is kl_div's alone.
Tensor reduce(const Tensor& loss, Reduction r, const char* op) {
  switch (r) {
    case Reduction::None:
      return loss;
    case Reduction::Sum:
      return loss.sum();
    case Reduction::BatchMean:
      VOXGRAD_FAIL(
          op,
          ": reduction 'batchmean' is only defined for kl_div (use 'mean', "
          "'sum' or 'none')");
    case Reduction::Mean:
      break;
  }
  return loss.mean();
}

/// Two defined operands of one shape and dtype.
void check_pair(
    const Tensor& a,
    const Tensor& b,
    const char* op,
    const char* a_name,
    const char* b_name) {
  VOXGRAD_CHECK(
      a.defined() && b.defined(), op, ": ", a.defined() ? b_name : a_name,
      " is undefined");
  VOXGRAD_CHECK(
      a.shape() == b.shape(), op, ": ", a_name, " ", shape_str(a.shape()),
      " and ", b_name, " ", shape_str(b.shape()), " must have the same shape");
  VOXGRAD_CHECK(
      a.dtype() == b.dtype(), op, ": ", a_name, " is ", dtype_name(a.dtype()),
      " but ", b_name, " is ", dtype_name(b.dtype()),
      "; convert one with .to(...)");
  require_floating(a.dtype(), op, a_name);
}

/// An optional tensor that must broadcast to `input` (shape and dtype).
void check_broadcast(
    const Tensor& t, const Tensor& input, const char* op, const char* name) {
  if (!t.defined())
    return;
  VOXGRAD_CHECK(
      is_broadcastable_to(t.shape(), input.shape()) &&
          t.dtype() == input.dtype(),
      op, ": ", name, " (", dtype_name(t.dtype()), " ", shape_str(t.shape()),
      ") must broadcast to the input (", dtype_name(input.dtype()), " ",
      shape_str(input.shape()), ")");
}

}  // namespace

namespace functional {

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "mse_loss", "input", "target");
  return reduce(mse_loss_op(input, target), r, "mse_loss");
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "l1_loss", "input", "target");
  return reduce(abs(input - target), r, "l1_loss");
}

Tensor binary_cross_entropy(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight,
    Reduction r) {
  check_pair(input, target, "binary_cross_entropy", "input", "target");
  check_broadcast(weight, input, "binary_cross_entropy", "weight");
  return reduce(
      binary_cross_entropy_op(input, target, weight), r,
      "binary_cross_entropy");
}

Tensor binary_cross_entropy_with_logits(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight,
    const Tensor& pos_weight,
    Reduction r) {
  constexpr const char* op = "binary_cross_entropy_with_logits";
  check_pair(input, target, op, "input", "target");
  check_broadcast(weight, input, op, "weight");
  check_broadcast(pos_weight, input, op, "pos_weight");
  if (!weight.defined() && !pos_weight.defined())  // one fused pass
    return reduce(binary_cross_entropy_with_logits_op(input, target), r, op);
  // log(1 + exp(-x)) without overflow. Threshold 40 instead of softplus's
  // default 20: above it softplus returns its argument, off by exp(-20) ~ 2e-9,
  // visible in float64; exp(40) still fits float32.
  const Tensor sp = softplus(-input, 1.0, 40.0);
  Tensor loss =
      (1.0 - target) * input +
      (pos_weight.defined() ? (1.0 + (pos_weight - 1.0) * target) * sp : sp);
  if (weight.defined())
    loss = loss * weight;
  return reduce(loss, r, op);
}

Tensor huber_loss(
    const Tensor& input,
    const Tensor& target,
    const HuberLossFuncOptions& options) {
  constexpr const char* op = "huber_loss";
  check_pair(input, target, op, "input", "target");
  const double delta = options.delta();
  VOXGRAD_CHECK(
      std::isfinite(delta) && delta > 0, op,
      ": delta must be finite and > 0 (got ", delta, ")");
  const Tensor d = input - target;
  const Tensor ad = abs(d);
  // At |d| == delta both pieces and their slopes agree.
  return reduce(
      where(lt(ad, delta), 0.5 * d * d, delta * (ad - 0.5 * delta)),
      options.reduction(), op);
}

Tensor smooth_l1_loss(
    const Tensor& input,
    const Tensor& target,
    const SmoothL1LossFuncOptions& options) {
  constexpr const char* op = "smooth_l1_loss";
  check_pair(input, target, op, "input", "target");
  const double beta = options.beta();
  VOXGRAD_CHECK(
      std::isfinite(beta) && beta >= 0, op,
      ": beta must be finite and >= 0 (got ", beta, ")");
  const Tensor d = input - target;
  const Tensor ad = abs(d);
  if (beta == 0)  // PyTorch's special case: exactly l1_loss
    return reduce(ad, options.reduction(), op);
  return reduce(
      where(lt(ad, beta), (0.5 / beta) * d * d, ad - 0.5 * beta),
      options.reduction(), op);
}

Tensor kl_div(
    const Tensor& input,
    const Tensor& target,
    const KLDivFuncOptions& options) {
  constexpr const char* op = "kl_div";
  check_pair(input, target, op, "input", "target");
  Tensor loss;
  if (options.log_target()) {
    loss = exp(target) * (target - input);
  } else {
    // target log(target) with 0 log 0 = 0 (PyTorch's xlogy): log reads 1
    // where target is 0, so neither the value nor the gradient is NaN.
    const Tensor zero = eq(target, 0.0);
    const Tensor safe = where(zero, ones({}, target.dtype()), target);
    loss = target * log(safe) - target * input;
  }
  if (options.reduction() != Reduction::BatchMean)
    return reduce(loss, options.reduction(), op);
  // Sum per sample: divided by the batch size (input.size(0)); a 0-d input
  // is one sample.
  const double n = input.dim() == 0 ? 1.0 : static_cast<double>(input.size(0));
  return loss.sum() / n;
}

Tensor kl_divergence_gaussian(
    const Tensor& mu, const Tensor& logvar, Reduction r) {
  check_pair(mu, logvar, "kl_divergence_gaussian", "mu", "logvar");
  return reduce(
      -0.5 * (1.0 + logvar - mu * mu - exp(logvar)), r,
      "kl_divergence_gaussian");
}

}  // namespace functional

std::string Loss::extra_repr() const {
  return std::string("reduction=") + reduction_name(reduction_);
}

Tensor MSELossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::mse_loss(input, target, reduction());
}

Tensor L1LossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::l1_loss(input, target, reduction());
}

BCELossImpl::BCELossImpl(const BCELossOptions& options)
    : Loss(options.reduction()) {
  if (options.weight().defined())
    weight_ = register_buffer("weight", options.weight());
}

Tensor BCELossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy(input, target, weight_, reduction());
}

BCEWithLogitsLossImpl::BCEWithLogitsLossImpl(
    const BCEWithLogitsLossOptions& options)
    : Loss(options.reduction()) {
  if (options.weight().defined())
    weight_ = register_buffer("weight", options.weight());
  if (options.pos_weight().defined())
    pos_weight_ = register_buffer("pos_weight", options.pos_weight());
}

Tensor BCEWithLogitsLossImpl::forward(
    const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy_with_logits(
      input, target, weight_, pos_weight_, reduction());
}

HuberLossImpl::HuberLossImpl(const HuberLossOptions& options)
    : Loss(options.reduction()), options_(options) {
  VOXGRAD_CHECK(
      std::isfinite(options.delta()) && options.delta() > 0,
      "HuberLoss: delta must be finite and > 0 (got ", options.delta(), ")");
}

Tensor HuberLossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::huber_loss(input, target, options_);
}

std::string HuberLossImpl::extra_repr() const {
  std::ostringstream os;
  os << Loss::extra_repr() << ", delta=" << options_.delta();
  return os.str();
}

SmoothL1LossImpl::SmoothL1LossImpl(const SmoothL1LossOptions& options)
    : Loss(options.reduction()), options_(options) {
  VOXGRAD_CHECK(
      std::isfinite(options.beta()) && options.beta() >= 0,
      "SmoothL1Loss: beta must be finite and >= 0 (got ", options.beta(), ")");
}

Tensor SmoothL1LossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::smooth_l1_loss(input, target, options_);
}

std::string SmoothL1LossImpl::extra_repr() const {
  std::ostringstream os;
  os << Loss::extra_repr() << ", beta=" << options_.beta();
  return os.str();
}

KLDivLossImpl::KLDivLossImpl(const KLDivLossOptions& options)
    : Loss(options.reduction()), options_(options) {}

Tensor KLDivLossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::kl_div(input, target, options_);
}

std::string KLDivLossImpl::extra_repr() const {
  std::ostringstream os;
  os << Loss::extra_repr()
     << ", log_target=" << (options_.log_target() ? "true" : "false");
  return os.str();
}

Tensor GaussianKLLossImpl::forward(const Tensor& mu, const Tensor& logvar) {
  return functional::kl_divergence_gaussian(mu, logvar, reduction());
}

}  // namespace voxgrad::nn
