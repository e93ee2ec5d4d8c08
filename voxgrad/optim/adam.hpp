#pragma once
// Adam and AdamW (with AMSGrad), as torch.optim.Adam / AdamW (1.13) compute
// them, with a step counter per parameter for the bias correction:
// ```text
// g = g + weight_decay * p          (Adam: L2 penalty in the gradient)
// p = p * (1 - lr * weight_decay)   (AdamW: decoupled decay instead)
// m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
// v_hat = amsgrad ? (v_max = max(v_max, v)) : v
// p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
// ```
// A step updates every parameter of a group in one fused, parallel pass
// (kernels::adam_update) with the bits of the element-by-element formula.

#include <utility>

#include "voxgrad/export.hpp"
#include "voxgrad/optim/optimizer.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::optim {

/// The options Adam and AdamW share; `Derived` makes the setters chain.
template <class Derived>
class AdamOptionsBase : public OptimizerOptions {
 public:
  Derived& lr(double v) {
    lr_ = v;
    return self();
  }
  double lr() const {
    return lr_;
  }
  /// (beta1, beta2): decay rates of the first and second moment estimates.
  Derived& betas(std::pair<double, double> v) {
    betas_ = v;
    return self();
  }
  std::pair<double, double> betas() const {
    return betas_;
  }
  Derived& eps(double v) {
    eps_ = v;
    return self();
  }
  double eps() const {
    return eps_;
  }
  Derived& weight_decay(double v) {
    weight_decay_ = v;
    return self();
  }
  double weight_decay() const {
    return weight_decay_;
  }
  Derived& amsgrad(bool v) {
    amsgrad_ = v;
    return self();
  }
  bool amsgrad() const {
    return amsgrad_;
  }
  Derived& maximize(bool v) {
    maximize_ = v;
    return self();
  }
  bool maximize() const {
    return maximize_;
  }

  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  double get_lr() const override {
    return lr_;
  }
  void set_lr(double v) override {
    lr_ = v;
  }
  std::vector<std::string> problems() const override;
  nlohmann::json to_json() const override;
  std::vector<std::string> from_json(const nlohmann::json& j) override;

 protected:
  AdamOptionsBase(double lr, double weight_decay)
      : lr_(lr), weight_decay_(weight_decay) {}

 private:
  Derived& self() {
    return static_cast<Derived&>(*this);
  }
  double lr_;
  std::pair<double, double> betas_{0.9, 0.999};
  double eps_ = 1e-8;
  double weight_decay_;
  bool amsgrad_ = false;
  bool maximize_ = false;
};

/// Adam's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.
class AdamOptions : public AdamOptionsBase<AdamOptions> {
 public:
  explicit AdamOptions(double lr = 1e-3) : AdamOptionsBase(lr, 0) {}
};

/// AdamW's defaults: as Adam's but weight_decay 1e-2 (decoupled).
class AdamWOptions : public AdamOptionsBase<AdamWOptions> {
 public:
  explicit AdamWOptions(double lr = 1e-3) : AdamOptionsBase(lr, 1e-2) {}
};

extern template class AdamOptionsBase<AdamOptions>;
extern template class AdamOptionsBase<AdamWOptions>;

/// optim::Adam opt(model.parameters(), AdamOptions(1e-3).amsgrad(true));
class Adam : public Optimizer {
 public:
  Adam(TensorList params, const AdamOptions& options = AdamOptions());
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults);

  std::string name() const override {
    return "Adam";
  }
  AdamOptions& options(size_t group = 0);
  BufferSpec state_buffers(const OptimizerOptions& options) const override;

 protected:
  void update(
      const OptimizerOptions& options,
      Tensor& param,
      const Tensor& grad,
      ParamState& state) override;
  void update_group(
      const OptimizerOptions& options,
      std::vector<ParamUpdate>& params) override;
  bool accepts(const OptimizerOptions& options) const override;
};

/// optim::AdamW opt(model.parameters(), AdamWOptions(1e-3).weight_decay(0.1));
class AdamW : public Optimizer {
 public:
  AdamW(TensorList params, const AdamWOptions& options = AdamWOptions());
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults);

  std::string name() const override {
    return "AdamW";
  }
  AdamWOptions& options(size_t group = 0);
  BufferSpec state_buffers(const OptimizerOptions& options) const override;

 protected:
  void update(
      const OptimizerOptions& options,
      Tensor& param,
      const Tensor& grad,
      ParamState& state) override;
  void update_group(
      const OptimizerOptions& options,
      std::vector<ParamUpdate>& params) override;
  bool accepts(const OptimizerOptions& options) const override;
};

}  // namespace voxgrad::optim

VOXGRAD_PUBLIC_END
