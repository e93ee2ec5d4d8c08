#pragma once
// Activation modules (PyTorch's nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.Sigmoid,
// nn.Tanh, nn.Softplus, nn.ELU, nn.GELU, nn.Mish, nn.Hardtanh, nn.Softsign,
// nn.PReLU) and the functional forms of those with options: thin wrappers of
// the differentiable ops in voxgrad/autograd/ops.hpp. No in-place variants.

#include <string>
#include <utility>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// max(x, 0) (torch::nn::ReLU).
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

/// x for x >= 0, negative_slope * x below (torch::nn::LeakyReLU).
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

/// x * sigmoid(x) (torch::nn::SiLU).
class SiLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(SiLU);

/// 1 / (1 + exp(-x)) (torch::nn::Sigmoid).
class SigmoidImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(Sigmoid);

/// tanh(x) (torch::nn::Tanh).
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

/// log(1 + exp(beta * x)) / beta, linear above threshold (torch::nn::Softplus).
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

/// ELUOptions().alpha(0.5)
struct ELUOptions {
  /// Scale of the negative part, alpha (exp(x) - 1) (default 1).
  ELUOptions& alpha(double v) {
    alpha_ = v;
    return *this;
  }
  double alpha() const {
    return alpha_;
  }

 private:
  double alpha_ = 1.0;
};

/// x for x > 0, alpha * (exp(x) - 1) below (torch::nn::ELU).
class ELUImpl : public Module {
 public:
  explicit ELUImpl(const ELUOptions& options = {});
  Tensor forward(const Tensor& x);
  const ELUOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  ELUOptions options_;
};
VOXGRAD_MODULE(ELU);

/// GELUOptions().approximate("tanh")
struct GELUOptions {
  /// "none" (exact, x Phi(x); the default) or "tanh".
  GELUOptions& approximate(std::string v) {
    approximate_ = std::move(v);
    return *this;
  }
  const std::string& approximate() const {
    return approximate_;
  }

 private:
  std::string approximate_ = "none";
};

/// x * Phi(x), exact or with the tanh approximation (torch::nn::GELU).
class GELUImpl : public Module {
 public:
  explicit GELUImpl(const GELUOptions& options = {});
  Tensor forward(const Tensor& x);
  const GELUOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  GELUOptions options_;
};
VOXGRAD_MODULE(GELU);

/// x * tanh(softplus(x)) (torch::nn::Mish).
class MishImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(Mish);

/// HardtanhOptions().min_val(-2).max_val(2)
struct HardtanhOptions {
  /// Lower bound (default -1).
  HardtanhOptions& min_val(double v) {
    min_val_ = v;
    return *this;
  }
  /// Upper bound (default 1); must exceed min_val.
  HardtanhOptions& max_val(double v) {
    max_val_ = v;
    return *this;
  }
  double min_val() const {
    return min_val_;
  }
  double max_val() const {
    return max_val_;
  }

 private:
  double min_val_ = -1.0;
  double max_val_ = 1.0;
};

/// x clamped to [min_val, max_val] (torch::nn::Hardtanh).
class HardtanhImpl : public Module {
 public:
  explicit HardtanhImpl(const HardtanhOptions& options = {});
  Tensor forward(const Tensor& x);
  const HardtanhOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  HardtanhOptions options_;
};
VOXGRAD_MODULE(Hardtanh);

/// x / (1 + |x|) (torch::nn::Softsign).
class SoftsignImpl : public Module {
 public:
  Tensor forward(const Tensor& x);
};
VOXGRAD_MODULE(Softsign);

/// PReLUOptions().num_parameters(16).init(0.25)
struct PReLUOptions {
  /// 1 (one slope shared by all channels, the default) or the number of
  /// channels of the input (axis 1).
  PReLUOptions& num_parameters(int64_t v) {
    num_parameters_ = v;
    return *this;
  }
  /// Initial slope (default 0.25).
  PReLUOptions& init(double v) {
    init_ = v;
    return *this;
  }
  int64_t num_parameters() const {
    return num_parameters_;
  }
  double init() const {
    return init_;
  }

 private:
  int64_t num_parameters_ = 1;
  double init_ = 0.25;
};

/// x > 0 ? x : a x with a learned slope a per channel; parameter `weight`
/// of shape (num_parameters), as PyTorch's.
/// ```cpp
/// nn::PReLU act(nn::PReLUOptions().num_parameters(16));
/// ```
class PReLUImpl : public Module {
 public:
  explicit PReLUImpl(const PReLUOptions& options = {});
  Tensor forward(const Tensor& x);
  /// Every slope back to options().init().
  void reset_parameters();
  const PReLUOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  PReLUOptions options_;
  Tensor weight_;
};
VOXGRAD_MODULE(PReLU);

namespace functional {
using ELUFuncOptions = ELUOptions;
using GELUFuncOptions = GELUOptions;
using HardtanhFuncOptions = HardtanhOptions;
/// F::elu(x, F::ELUFuncOptions().alpha(0.5))
Tensor elu(const Tensor& x, const ELUFuncOptions& options = {});
/// F::gelu(x, F::GELUFuncOptions().approximate("tanh"))
Tensor gelu(const Tensor& x, const GELUFuncOptions& options = {});
Tensor mish(const Tensor& x);
/// F::hardtanh(x, F::HardtanhFuncOptions().min_val(0).max_val(6))
Tensor hardtanh(const Tensor& x, const HardtanhFuncOptions& options = {});
Tensor softsign(const Tensor& x);
Tensor prelu(const Tensor& x, const Tensor& weight);
}  // namespace functional

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
