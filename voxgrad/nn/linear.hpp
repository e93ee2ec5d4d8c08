#pragma once
// nn::Linear, PyTorch's nn.Linear: y = x W^T + b with weight (out, in) and
// bias (out), over any number of leading axes.

#include <string>

#include "voxgrad/core/random.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// LinearOptions(4, 8).bias(false)
struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  /// Adds a learnable bias (default true).
  LinearOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  int64_t in_features() const {
    return in_features_;
  }
  int64_t out_features() const {
    return out_features_;
  }
  bool bias() const {
    return bias_;
  }

 private:
  int64_t in_features_;
  int64_t out_features_;
  bool bias_ = true;
};

/// Input (*, in_features) -> output (*, out_features). Initialised as
/// PyTorch: weight kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
/// bias U(-1/sqrt(in), 1/sqrt(in)).
/// ```cpp
/// nn::Linear fc(nn::LinearOptions(4, 8));
/// ```
class LinearImpl : public Module {
 public:
  explicit LinearImpl(const LinearOptions& options);
  LinearImpl(int64_t in_features, int64_t out_features)
      : LinearImpl(LinearOptions(in_features, out_features)) {}

  Tensor forward(const Tensor& x);
  /// Re-draws weight and bias as the constructor does.
  void reset_parameters(Generator* gen = nullptr);

  const LinearOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }
  /// Undefined when built with bias(false).
  const Tensor& bias() const {
    return bias_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  LinearOptions options_;
  Tensor weight_;
  Tensor bias_;
};
VOXGRAD_MODULE(Linear);

namespace functional {
/// x (*, in) @ weight (out, in)^T + bias (out): F.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
}  // namespace functional

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
