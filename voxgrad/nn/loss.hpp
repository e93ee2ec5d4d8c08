#pragma once
// Losses as PyTorch 1.13 defines them: MSELoss, L1Loss, BCELoss,
// BCEWithLogitsLoss (numerically stable, optional pos_weight) and the
// Gaussian KL term of a VAE. Each is a function in nn::functional and a
// module whose forward takes (input, target). Reduction none / mean / sum.

#include <string>
#include <utility>

#include "voxgrad/nn/module.hpp"

namespace voxgrad::nn {

/// How a loss reduces its elementwise values: keep them, average, or sum.
enum class Reduction { None, Mean, Sum };

/// "none" / "mean" / "sum".
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

///   nn::MSELoss loss;  auto l = loss(prediction, target);
class MSELossImpl : public Loss {
 public:
  explicit MSELossImpl(const MSELossOptions& options = {})
      : Loss(options.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
};
VOXGRAD_MODULE(MSELoss);

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

/// forward(mu, logvar): functional::kl_divergence_gaussian.
class GaussianKLLossImpl : public Loss {
 public:
  explicit GaussianKLLossImpl(const GaussianKLLossOptions& options = {})
      : Loss(options.reduction()) {}
  Tensor forward(const Tensor& mu, const Tensor& logvar) override;
};
VOXGRAD_MODULE(GaussianKLLoss);

}  // namespace voxgrad::nn
