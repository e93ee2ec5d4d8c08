#pragma once
// Activation modules (PyTorch's nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.Sigmoid,
// nn.Tanh, nn.Softplus): thin wrappers of the differentiable ops in
// voxgrad/autograd/ops.hpp. No in-place variants.

#include <string>

#include "voxgrad/nn/module.hpp"

namespace voxgrad::nn {

class ReLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(ReLU);

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

class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(const LeakyReLUOptions& options = {});
  Tensor forward(const Tensor& x);
  const LeakyReLUOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  LeakyReLUOptions options_;
};
VOXGRAD_MODULE(LeakyReLU);

class SiLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(SiLU);

class SigmoidImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(Sigmoid);

class TanhImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(Tanh);

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

class SoftplusImpl : public Module {
 public:
  explicit SoftplusImpl(const SoftplusOptions& options = {});
  Tensor forward(const Tensor& x);
  const SoftplusOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  SoftplusOptions options_;
};
VOXGRAD_MODULE(Softplus);

}  // namespace voxgrad::nn
