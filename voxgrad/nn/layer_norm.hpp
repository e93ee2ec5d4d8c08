#pragma once
// nn::LayerNorm and nn::functional::layer_norm, as PyTorch's: statistics over
// the trailing normalized_shape axes of each sample, an elementwise affine of
// that shape (parameters weight = 1, bias = 0). Same in train and eval.
// Written with differentiable ops, so double backward works.

#include <string>
#include <utility>
#include <vector>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// LayerNormOptions({C, D, H, W}).eps(1e-5).elementwise_affine(true)
struct LayerNormOptions {
  /* implicit */ LayerNormOptions(std::vector<int64_t> normalized_shape)
      : normalized_shape_(std::move(normalized_shape)) {}
  /// Added to the variance (default 1e-5).
  LayerNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  /// Learnable weight and bias of normalized_shape (default true).
  LayerNormOptions& elementwise_affine(bool on) {
    elementwise_affine_ = on;
    return *this;
  }
  const std::vector<int64_t>& normalized_shape() const {
    return normalized_shape_;
  }
  double eps() const {
    return eps_;
  }
  bool elementwise_affine() const {
    return elementwise_affine_;
  }

 private:
  std::vector<int64_t> normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
};

/// Input (*, normalized_shape...): y = (x - mean) / sqrt(var + eps) * weight
/// + bias, mean and biased var over the trailing normalized_shape axes.
/// ```cpp
/// nn::LayerNorm ln(nn::LayerNormOptions({64}).eps(1e-6));
/// ```
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  Tensor forward(const Tensor& x);
  /// weight = 1, bias = 0.
  void reset_parameters();
  const LayerNormOptions& options() const {
    return options_;
  }
  /// Undefined without elementwise_affine.
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& bias() const {
    return bias_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  LayerNormOptions options_;
  Tensor weight_, bias_;
};
VOXGRAD_MODULE(LayerNorm);

namespace functional {

/// F::layer_norm(x, F::LayerNormFuncOptions({64}).weight(w).bias(b))
struct LayerNormFuncOptions {
  /* implicit */ LayerNormFuncOptions(std::vector<int64_t> normalized_shape)
      : normalized_shape_(std::move(normalized_shape)) {}
  LayerNormFuncOptions& weight(Tensor v) {
    weight_ = std::move(v);
    return *this;
  }
  LayerNormFuncOptions& bias(Tensor v) {
    bias_ = std::move(v);
    return *this;
  }
  LayerNormFuncOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  const std::vector<int64_t>& normalized_shape() const {
    return normalized_shape_;
  }
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& bias() const {
    return bias_;
  }
  double eps() const {
    return eps_;
  }

 private:
  std::vector<int64_t> normalized_shape_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};

/// Layer normalisation over the trailing normalized_shape axes; weight and
/// bias (normalized_shape) may be undefined.
Tensor layer_norm(const Tensor& x, const LayerNormFuncOptions& options);

}  // namespace functional
}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
