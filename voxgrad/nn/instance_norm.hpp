#pragma once
// nn::InstanceNorm3d and nn::functional::instance_norm, as PyTorch's: each
// sample's channels are normalised by their own spatial mean and biased
// variance. Running statistics (optional) are the average over the batch of
// the per-instance statistics, PyTorch's rule; they are used in eval, and
// without them eval normalises with the input's own statistics as in
// training. Written with differentiable ops, so double backward works.

#include <string>
#include <utility>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// Options of InstanceNorm3d, here with PyTorch's defaults:
/// ```cpp
/// auto options = nn::InstanceNorm3dOptions(16).eps(1e-5).momentum(0.1).affine(
///     false).track_running_stats(false);
/// ```
struct InstanceNormOptions {
  explicit InstanceNormOptions(int64_t num_features)
      : num_features_(num_features) {}
  /// Added to the variance (default 1e-5).
  InstanceNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  /// Running-stat factor (default 0.1).
  InstanceNormOptions& momentum(double v) {
    momentum_ = v;
    return *this;
  }
  /// Learnable weight (1) and bias (0) per channel (default false).
  InstanceNormOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  /// Keep running_mean / running_var / num_batches_tracked and use them in
  /// eval (default false).
  InstanceNormOptions& track_running_stats(bool on) {
    track_running_stats_ = on;
    return *this;
  }
  int64_t num_features() const {
    return num_features_;
  }
  double eps() const {
    return eps_;
  }
  double momentum() const {
    return momentum_;
  }
  bool affine() const {
    return affine_;
  }
  bool track_running_stats() const {
    return track_running_stats_;
  }

 private:
  int64_t num_features_;
  double eps_ = 1e-5;
  double momentum_ = 0.1;
  bool affine_ = false;
  bool track_running_stats_ = false;
};

using InstanceNorm3dOptions = InstanceNormOptions;

/// Input (N, C, D, H, W) or unbatched (C, D, H, W). Parameters weight, bias
/// (C) with affine; buffers running_mean, running_var and
/// num_batches_tracked (a float 0-d tensor, as BatchNorm3d's; InstanceNorm
/// never advances it, as in PyTorch) with track_running_stats.
/// ```cpp
/// nn::InstanceNorm3d norm(nn::InstanceNorm3dOptions(16).affine(true));
/// ```
class InstanceNorm3dImpl : public Module {
 public:
  explicit InstanceNorm3dImpl(const InstanceNorm3dOptions& options);
  explicit InstanceNorm3dImpl(int64_t num_features)
      : InstanceNorm3dImpl(InstanceNorm3dOptions(num_features)) {}
  Tensor forward(const Tensor& x);
  /// running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  /// The running stats, then weight = 1 and bias = 0.
  void reset_parameters();

  const InstanceNorm3dOptions& options() const {
    return options_;
  }
  /// Undefined without affine.
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& bias() const {
    return bias_;
  }
  /// Undefined without track_running_stats.
  const Tensor& running_mean() const {
    return running_mean_;
  }
  const Tensor& running_var() const {
    return running_var_;
  }
  const Tensor& num_batches_tracked() const {
    return num_batches_tracked_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  InstanceNorm3dOptions options_;
  Tensor weight_, bias_;
  Tensor running_mean_, running_var_, num_batches_tracked_;
};
VOXGRAD_MODULE(InstanceNorm3d);

namespace functional {

/// F::instance_norm(x, F::InstanceNormFuncOptions().weight(w).bias(b))
struct InstanceNormFuncOptions {
  InstanceNormFuncOptions& running_mean(Tensor v) {
    running_mean_ = std::move(v);
    return *this;
  }
  InstanceNormFuncOptions& running_var(Tensor v) {
    running_var_ = std::move(v);
    return *this;
  }
  InstanceNormFuncOptions& weight(Tensor v) {
    weight_ = std::move(v);
    return *this;
  }
  InstanceNormFuncOptions& bias(Tensor v) {
    bias_ = std::move(v);
    return *this;
  }
  /// Normalise with the input's statistics (default true); false uses the
  /// running ones.
  InstanceNormFuncOptions& use_input_stats(bool v) {
    use_input_stats_ = v;
    return *this;
  }
  InstanceNormFuncOptions& momentum(double v) {
    momentum_ = v;
    return *this;
  }
  InstanceNormFuncOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  const Tensor& running_mean() const {
    return running_mean_;
  }
  const Tensor& running_var() const {
    return running_var_;
  }
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& bias() const {
    return bias_;
  }
  bool use_input_stats() const {
    return use_input_stats_;
  }
  double momentum() const {
    return momentum_;
  }
  double eps() const {
    return eps_;
  }

 private:
  Tensor running_mean_, running_var_, weight_, bias_;
  bool use_input_stats_ = true;
  double momentum_ = 0.1;
  double eps_ = 1e-5;
};

/// Instance normalisation of x (N, C, *). With use_input_stats, running
/// stats that are defined are updated in place with the batch average of the
/// per-instance mean and unbiased variance; without, they normalise.
Tensor instance_norm(
    const Tensor& x, const InstanceNormFuncOptions& options = {});

}  // namespace functional
}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
