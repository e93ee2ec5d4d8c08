#pragma once
// Activation modules (PyTorch's nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.Sigmoid,
// nn.Tanh, nn.Softplus): thin wrappers of the differentiable ops in
// voxgrad/autograd/ops.hpp. No in-place variants.

#include <string>

#include "voxgrad/nn/module.hpp"

namespace voxgrad::nn {

class ReLU : public Module {
 public:
  std::string name() const override {
    return "ReLU";
  }
  Tensor forward(const Tensor& x) override;
};

/// LeakyReLUOptions().negative_slope(0.2)
struct LeakyReLUOptions {
  /// Slope for x < 0 (default 0.01).
  LeakyReLUOptions& negative_slope(double v) {
    negative_slope_ = v;
    return *this;
  }
  double negative_slope() const {
    return negative_slope_;
  }

 private:
  double negative_slope_ = 0.01;
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(const LeakyReLUOptions& options = {});
  std::string name() const override {
    return "LeakyReLU";
  }
  Tensor forward(const Tensor& x) override;
  const LeakyReLUOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  LeakyReLUOptions options_;
};

class SiLU : public Module {
 public:
  std::string name() const override {
    return "SiLU";
  }
  Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Module {
 public:
  std::string name() const override {
    return "Sigmoid";
  }
  Tensor forward(const Tensor& x) override;
};

class Tanh : public Module {
 public:
  std::string name() const override {
    return "Tanh";
  }
  Tensor forward(const Tensor& x) override;
};

/// SoftplusOptions().beta(2).threshold(10)
struct SoftplusOptions {
  /// log(1 + exp(beta x)) / beta (default 1).
  SoftplusOptions& beta(double v) {
    beta_ = v;
    return *this;
  }
  /// Above beta x > threshold the output is x (default 20).
  SoftplusOptions& threshold(double v) {
    threshold_ = v;
    return *this;
  }
  double beta() const {
    return beta_;
  }
  double threshold() const {
    return threshold_;
  }

 private:
  double beta_ = 1;
  double threshold_ = 20;
};

class Softplus : public Module {
 public:
  explicit Softplus(const SoftplusOptions& options = {});
  std::string name() const override {
    return "Softplus";
  }
  Tensor forward(const Tensor& x) override;
  const SoftplusOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  SoftplusOptions options_;
};

}  // namespace voxgrad::nn
