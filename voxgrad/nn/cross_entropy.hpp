#pragma once
// Classification losses as PyTorch 1.13 defines them: CrossEntropyLoss
// (class indices or class probabilities, weight, ignore_index,
// label_smoothing) and NLLLoss, over dim 1 of (N, C), (N, C, d1, ...) --
// e.g. per-voxel labels of (N, C, D, H, W) logits -- or unbatched (C)
// inputs. Class-index targets are int64; a target that is neither a class
// nor ignore_index is refused, naming its value and position.

#include <string>
#include <utility>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/loss.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// CrossEntropyLossOptions().weight(w).ignore_index(0).label_smoothing(0.1)
struct CrossEntropyLossOptions {
  CrossEntropyLossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  /// One weight per class (C), or undefined for all 1.
  CrossEntropyLossOptions& weight(Tensor w) {
    weight_ = std::move(w);
    return *this;
  }
  /// Targets equal to it contribute nothing (class-index targets only).
  CrossEntropyLossOptions& ignore_index(int64_t i) {
    ignore_index_ = i;
    return *this;
  }
  CrossEntropyLossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  /// Mixes the target with the uniform distribution: eps in [0, 1].
  CrossEntropyLossOptions& label_smoothing(double eps) {
    label_smoothing_ = eps;
    return *this;
  }
  const Tensor& weight() const {
    return weight_;
  }
  int64_t ignore_index() const {
    return ignore_index_;
  }
  Reduction reduction() const {
    return reduction_;
  }
  double label_smoothing() const {
    return label_smoothing_;
  }

 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_;
  double label_smoothing_ = 0.0;
};

/// NLLLossOptions().weight(w).ignore_index(255)
struct NLLLossOptions {
  NLLLossOptions(Reduction r = Reduction::Mean)  // NOLINT: implicit
      : reduction_(r) {}
  NLLLossOptions& weight(Tensor w) {
    weight_ = std::move(w);
    return *this;
  }
  NLLLossOptions& ignore_index(int64_t i) {
    ignore_index_ = i;
    return *this;
  }
  NLLLossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  const Tensor& weight() const {
    return weight_;
  }
  int64_t ignore_index() const {
    return ignore_index_;
  }
  Reduction reduction() const {
    return reduction_;
  }

 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_;
};

namespace functional {

using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using NLLLossFuncOptions = NLLLossOptions;

/// Cross entropy of logits `input` against `target`:
/// - class indices: int64 target of the input's shape without dim 1;
///   loss_n = (1 - eps) (-w_t log p_t) + eps / C (-sum_c w_c log p_c), 0
///   where target == ignore_index; 'mean' divides by the sum of w_t over
///   the positions not ignored.
/// - class probabilities: a float target of the input's shape;
///   loss_n = -sum_c w_c q_c log p_c with q = (1 - eps) target + eps / C;
///   'mean' divides by the number of positions (N d1 ...).
/// p = softmax(input, 1), computed stably (fused with the loss for class
/// indices).
/// ```cpp
/// auto loss = F::cross_entropy(logits, labels,
///                              F::CrossEntropyFuncOptions().ignore_index(0));
/// ```
Tensor cross_entropy(
    const Tensor& input,
    const Tensor& target,
    const CrossEntropyFuncOptions& options = {});

/// Negative log likelihood of log-probabilities `input` (e.g. log_softmax)
/// at class-index targets: loss_n = -w_t input[n, t], 0 where ignored;
/// 'mean' divides by the sum of w_t over the positions not ignored.
Tensor nll_loss(
    const Tensor& input,
    const Tensor& target,
    const NLLLossFuncOptions& options = {});

}  // namespace functional

/// The weight, if any, is a buffer named "weight" (as in PyTorch).
/// ```cpp
/// nn::CrossEntropyLoss loss(nn::CrossEntropyLossOptions().ignore_index(0));
/// ```
class CrossEntropyLossImpl : public Loss {
 public:
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  const CrossEntropyLossOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  CrossEntropyLossOptions options_;
};
VOXGRAD_MODULE(CrossEntropyLoss);

/// Negative log-likelihood of log-probabilities (torch::nn::NLLLoss).
class NLLLossImpl : public Loss {
 public:
  explicit NLLLossImpl(const NLLLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  const NLLLossOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  NLLLossOptions options_;
};
VOXGRAD_MODULE(NLLLoss);

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
