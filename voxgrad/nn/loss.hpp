#pragma once
// Losses as PyTorch 1.13 defines them: MSELoss, L1Loss, HuberLoss,
// SmoothL1Loss, BCELoss, BCEWithLogitsLoss (numerically stable, optional
// pos_weight), KLDivLoss and the Gaussian KL term of a VAE. Each is a
// function in nn::functional and a module whose forward takes (input,
// target). Reduction none / mean / sum (and batchmean for kl_div). The
// classification losses are in voxgrad/nn/cross_entropy.hpp.

#include <string>
#include <utility>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// How a loss reduces its elementwise values: keep them, average, sum, or
/// (kl_div only) sum divided by the batch size.
enum class Reduction { None, Mean, Sum, BatchMean };

/// "none" / "mean" / "sum" / "batchmean".
const char* reduction_name(Reduction r);

namespace functional {

/// mean((input - target)^2); input and target have one shape.
Tensor mse_loss(
    const Tensor& input,
    const Tensor& target,
    Reduction reduction = Reduction::Mean);

/// mean(|input - target|); input and target have one shape.
Tensor l1_loss(
    const Tensor& input,
    const Tensor& target,
    Reduction reduction = Reduction::Mean);

/// -w (t log x + (1 - t) log(1 - x)), logs clamped at -100 (PyTorch); input
/// in [0, 1]. `weight` (optional) broadcasts to the input and gets no
/// gradient.
Tensor binary_cross_entropy(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight = {},
    Reduction reduction = Reduction::Mean);

/// BCE of sigmoid(input), computed stably as
/// (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x), times `weight`.
/// pos_weight (optional) broadcasts to the input, typically (C) for the
/// last axis.
Tensor binary_cross_entropy_with_logits(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight = {},
    const Tensor& pos_weight = {},
    Reduction reduction = Reduction::Mean);

/// KL(N(mu, exp(logvar)) || N(0, 1)) per element,
/// -0.5 (1 + logvar - mu^2 - exp(logvar)), reduced. The classic VAE term
/// (Kingma & Welling) is Reduction::Sum; divide by the batch size for a
/// per-sample value.
Tensor kl_divergence_gaussian(
    const Tensor& mu,
    const Tensor& logvar,
    Reduction reduction = Reduction::Mean);

}  // namespace functional

/// Options of the losses that only take a reduction: MSELossOptions(
/// Reduction::Sum).
struct LossOptions {
  LossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit on purpose
      : reduction_(r) {}
  LossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  Reduction reduction() const {
    return reduction_;
  }

 private:
  Reduction reduction_;
};
using MSELossOptions = LossOptions;
using L1LossOptions = LossOptions;
using GaussianKLLossOptions = LossOptions;

/// BCELossOptions().weight(w).reduction(Reduction::Sum)
struct BCELossOptions {
  BCELossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  BCELossOptions& weight(Tensor w) {
    weight_ = std::move(w);
    return *this;
  }
  BCELossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  const Tensor& weight() const {
    return weight_;
  }
  Reduction reduction() const {
    return reduction_;
  }

 private:
  Tensor weight_;
  Reduction reduction_;
};

/// BCEWithLogitsLossOptions().pos_weight(pw).reduction(Reduction::Sum)
struct BCEWithLogitsLossOptions {
  BCEWithLogitsLossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  BCEWithLogitsLossOptions& weight(Tensor w) {
    weight_ = std::move(w);
    return *this;
  }
  /// Weight of positive examples, broadcast to the input (e.g. (C)).
  BCEWithLogitsLossOptions& pos_weight(Tensor w) {
    pos_weight_ = std::move(w);
    return *this;
  }
  BCEWithLogitsLossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& pos_weight() const {
    return pos_weight_;
  }
  Reduction reduction() const {
    return reduction_;
  }

 private:
  Tensor weight_;
  Tensor pos_weight_;
  Reduction reduction_;
};

/// HuberLossOptions().delta(0.5).reduction(Reduction::Sum)
struct HuberLossOptions {
  HuberLossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  HuberLossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  /// Where the quadratic part becomes linear (> 0; default 1).
  HuberLossOptions& delta(double d) {
    delta_ = d;
    return *this;
  }
  Reduction reduction() const {
    return reduction_;
  }
  double delta() const {
    return delta_;
  }

 private:
  Reduction reduction_;
  double delta_ = 1.0;
};

/// SmoothL1LossOptions().beta(0.5)
struct SmoothL1LossOptions {
  SmoothL1LossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  SmoothL1LossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  /// Where the quadratic part becomes linear (>= 0; 0 is l1_loss).
  SmoothL1LossOptions& beta(double b) {
    beta_ = b;
    return *this;
  }
  Reduction reduction() const {
    return reduction_;
  }
  double beta() const {
    return beta_;
  }

 private:
  Reduction reduction_;
  double beta_ = 1.0;
};

/// KLDivLossOptions(Reduction::BatchMean).log_target(true)
struct KLDivLossOptions {
  KLDivLossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  /// batchmean (sum / N) is the mathematically right KL per sample;
  /// mean averages over every element (PyTorch's default, kept for
  /// compatibility).
  KLDivLossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  /// The target is given as log-probabilities.
  KLDivLossOptions& log_target(bool v) {
    log_target_ = v;
    return *this;
  }
  Reduction reduction() const {
    return reduction_;
  }
  bool log_target() const {
    return log_target_;
  }

 private:
  Reduction reduction_;
  bool log_target_ = false;
};

namespace functional {

using HuberLossFuncOptions = HuberLossOptions;
using SmoothL1LossFuncOptions = SmoothL1LossOptions;
using KLDivFuncOptions = KLDivLossOptions;

/// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input -
/// target; input and target have one shape.
Tensor huber_loss(
    const Tensor& input,
    const Tensor& target,
    const HuberLossFuncOptions& options = {});

/// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (l1_loss for beta
/// 0), d = input - target.
Tensor smooth_l1_loss(
    const Tensor& input,
    const Tensor& target,
    const SmoothL1LossFuncOptions& options = {});

/// KL(target || exp(input)) per element with `input` log-probabilities:
/// target (log target - input), 0 where target is 0; with log_target,
/// exp(target) (target - input). Gradients reach input and target.
Tensor kl_div(
    const Tensor& input,
    const Tensor& target,
    const KLDivFuncOptions& options = {});

}  // namespace functional

/// Base of the loss modules: forward(input, target) and the reduction in
/// the printed form, e.g. "MSELoss(reduction=mean)".
class Loss : public Module {
 public:
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) {
    return forward(input, target);
  }
  Reduction reduction() const {
    return reduction_;
  }

 protected:
  explicit Loss(Reduction r) : reduction_(r) {}
  std::string extra_repr() const override;

 private:
  Reduction reduction_;
};

/// ```cpp
/// nn::MSELoss loss;  auto l = loss(prediction, target);
/// ```
class MSELossImpl : public Loss {
 public:
  explicit MSELossImpl(const MSELossOptions& options = {})
      : Loss(options.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
};
VOXGRAD_MODULE(MSELoss);

/// |input - target|, reduced (torch::nn::L1Loss).
class L1LossImpl : public Loss {
 public:
  explicit L1LossImpl(const L1LossOptions& options = {})
      : Loss(options.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
};
VOXGRAD_MODULE(L1Loss);

/// The weight, if any, is a buffer named "weight" (as in PyTorch).
class BCELossImpl : public Loss {
 public:
  explicit BCELossImpl(const BCELossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  Tensor weight_;
};
VOXGRAD_MODULE(BCELoss);

/// weight and pos_weight, if any, are buffers of those names.
class BCEWithLogitsLossImpl : public Loss {
 public:
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;

 private:
  Tensor weight_;
  Tensor pos_weight_;
};
VOXGRAD_MODULE(BCEWithLogitsLoss);

/// Quadratic within delta of the target, linear beyond (torch::nn::HuberLoss).
class HuberLossImpl : public Loss {
 public:
  explicit HuberLossImpl(const HuberLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  const HuberLossOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  HuberLossOptions options_;
};
VOXGRAD_MODULE(HuberLoss);

/// Huber loss divided by beta (torch::nn::SmoothL1Loss).
class SmoothL1LossImpl : public Loss {
 public:
  explicit SmoothL1LossImpl(const SmoothL1LossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  const SmoothL1LossOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  SmoothL1LossOptions options_;
};
VOXGRAD_MODULE(SmoothL1Loss);

/// ```cpp
/// nn::KLDivLoss kl(nn::KLDivLossOptions().reduction(Reduction::BatchMean));
/// auto l = kl(log_softmax(logits, 1), target_probs);
/// ```
class KLDivLossImpl : public Loss {
 public:
  explicit KLDivLossImpl(const KLDivLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  const KLDivLossOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  KLDivLossOptions options_;
};
VOXGRAD_MODULE(KLDivLoss);

/// forward(mu, logvar): functional::kl_divergence_gaussian.
class GaussianKLLossImpl : public Loss {
 public:
  explicit GaussianKLLossImpl(const GaussianKLLossOptions& options = {})
      : Loss(options.reduction()) {}
  Tensor forward(const Tensor& mu, const Tensor& logvar) override;
};
VOXGRAD_MODULE(GaussianKLLoss);

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
