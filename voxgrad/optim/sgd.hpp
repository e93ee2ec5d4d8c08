#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum and
// L2 weight decay, exactly as torch.optim.SGD (1.13) computes it:
// ```text
// d = g + weight_decay * p
// buf = d (first step), else buf = momentum * buf + (1 - dampening) * d
// d = nesterov ? d + momentum * buf : buf        (when momentum != 0)
// p = p - lr * d
// ```

#include "voxgrad/export.hpp"
#include "voxgrad/optim/optimizer.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::optim {

/// SGD hyper-parameters: `SGDOptions(0.1).momentum(0.9).nesterov(true)`.
class SGDOptions : public OptimizerOptions {
 public:
  explicit SGDOptions(double lr) : lr_(lr) {}

  SGDOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  double lr() const {
    return lr_;
  }
  SGDOptions& momentum(double v) {
    momentum_ = v;
    return *this;
  }
  double momentum() const {
    return momentum_;
  }
  SGDOptions& dampening(double v) {
    dampening_ = v;
    return *this;
  }
  double dampening() const {
    return dampening_;
  }
  SGDOptions& weight_decay(double v) {
    weight_decay_ = v;
    return *this;
  }
  double weight_decay() const {
    return weight_decay_;
  }
  SGDOptions& nesterov(bool v) {
    nesterov_ = v;
    return *this;
  }
  bool nesterov() const {
    return nesterov_;
  }
  /// Ascend instead of descend (PyTorch's maximize).
  SGDOptions& maximize(bool v) {
    maximize_ = v;
    return *this;
  }
  bool maximize() const {
    return maximize_;
  }

  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<SGDOptions>(*this);
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

 private:
  double lr_;
  double momentum_ = 0;
  double dampening_ = 0;
  double weight_decay_ = 0;
  bool nesterov_ = false;
  bool maximize_ = false;
};

/// optim::SGD opt(model.parameters(), SGDOptions(0.1).momentum(0.9));
class SGD : public Optimizer {
 public:
  SGD(TensorList params, const SGDOptions& options);
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);

  std::string name() const override {
    return "SGD";
  }
  /// The options of group i, typed.
  SGDOptions& options(size_t group = 0);
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
