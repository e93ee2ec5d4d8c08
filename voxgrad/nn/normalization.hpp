#pragma once
// nn::BatchNorm1d, nn::BatchNorm3d and nn::GroupNorm, as PyTorch's (parameter
// and buffer names included, so state dicts match), written as compositions
// of differentiable
// ops: y = x * scale + shift with per-channel scale and shift that are
// themselves differentiable functions of the batch statistics. Two passes
// over the activation for the affine part, three for the statistics; double
// backward comes for free.

#include <optional>
#include <string>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// Options of every batch norm rank (one struct, as libtorch's):
/// ```cpp
/// auto options = nn::BatchNorm3dOptions(16).momentum(0.1).eps(1e-5).affine(
///     true).track_running_stats(true);
/// ```
struct BatchNormOptions {
  explicit BatchNormOptions(int64_t num_features)
      : num_features_(num_features) {}
  /// Added to the variance (default 1e-5).
  BatchNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  /// Running-stat factor (default 0.1); std::nullopt = cumulative average.
  BatchNormOptions& momentum(std::optional<double> v) {
    momentum_ = v;
    return *this;
  }
  /// Learnable weight (1) and bias (0) per channel (default true).
  BatchNormOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  /// Keep running_mean / running_var / num_batches_tracked and use them in
  /// eval (default true); without, eval uses batch statistics too.
  BatchNormOptions& track_running_stats(bool on) {
    track_running_stats_ = on;
    return *this;
  }
  int64_t num_features() const {
    return num_features_;
  }
  double eps() const {
    return eps_;
  }
  std::optional<double> momentum() const {
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
  std::optional<double> momentum_ = 0.1;
  bool affine_ = true;
  bool track_running_stats_ = true;
};

using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm3dOptions = BatchNormOptions;

/// What BatchNorm1d and BatchNorm3d share (libtorch's BatchNormImplBase):
/// input (N, C, *). Training: normalises with the batch mean and biased
/// variance over every axis but C and updates the running stats in place
/// (unbiased variance, NoGradGuard); eval: uses the running stats.
/// Parameters weight, bias (C); buffers running_mean (0), running_var (1),
/// num_batches_tracked (a 0-d tensor; voxgrad has no integer dtype, so it is
/// a float, exact up to 2^24 batches in float32).
/// ```cpp
/// nn::BatchNorm3d bn(nn::BatchNorm3dOptions(16));
/// ```
class BatchNormImplBase : public Module {
 public:
  /// Virtual for distributed::SyncBatchNorm3d.
  virtual Tensor forward(const Tensor& x);
  /// running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  /// The running stats, then weight = 1 and bias = 0.
  void reset_parameters();

  const BatchNormOptions& options() const {
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
  /// `type` names the layer in errors raised while constructing it (name()
  /// is not yet the derived class's there).
  BatchNormImplBase(const BatchNormOptions& options, const char* type);
  /// Throws unless x has a rank this layer takes and C = num_features.
  virtual void check_input(const Tensor& x) const = 0;
  std::string extra_repr() const override;

 private:
  BatchNormOptions options_;
  Tensor weight_, bias_;
  Tensor running_mean_, running_var_, num_batches_tracked_;
};

/// Input (N, C) or (N, C, L).
/// ```cpp
/// nn::BatchNorm1d bn(nn::BatchNorm1dOptions(64));
/// ```
class BatchNorm1dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm1dImpl(const BatchNorm1dOptions& options)
      : BatchNormImplBase(options, "BatchNorm1d") {}
  explicit BatchNorm1dImpl(int64_t num_features)
      : BatchNorm1dImpl(BatchNorm1dOptions(num_features)) {}

 protected:
  void check_input(const Tensor& x) const override;
};
VOXGRAD_MODULE(BatchNorm1d);

/// Input (N, C, D, H, W).
class BatchNorm3dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm3dImpl(const BatchNorm3dOptions& options)
      : BatchNormImplBase(options, "BatchNorm3d") {}
  explicit BatchNorm3dImpl(int64_t num_features)
      : BatchNorm3dImpl(BatchNorm3dOptions(num_features)) {}

 protected:
  void check_input(const Tensor& x) const override;
};
VOXGRAD_MODULE(BatchNorm3d);

/// GroupNormOptions(4, 16).eps(1e-5).affine(true)
struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  GroupNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  GroupNormOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  int64_t num_groups() const {
    return num_groups_;
  }
  int64_t num_channels() const {
    return num_channels_;
  }
  double eps() const {
    return eps_;
  }
  bool affine() const {
    return affine_;
  }

 private:
  int64_t num_groups_;
  int64_t num_channels_;
  double eps_ = 1e-5;
  bool affine_ = true;
};

/// Input (N, C, *): each sample's channels split into num_groups groups,
/// each normalised by its own mean and biased variance, then a per-channel
/// weight (1) and bias (0). Same in train and eval.
class GroupNormImpl : public Module {
 public:
  explicit GroupNormImpl(const GroupNormOptions& options);
  GroupNormImpl(int64_t num_groups, int64_t num_channels)
      : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}

  Tensor forward(const Tensor& x);
  void reset_parameters();

  const GroupNormOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& bias() const {
    return bias_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  GroupNormOptions options_;
  Tensor weight_, bias_;
};
VOXGRAD_MODULE(GroupNorm);

namespace functional {

/// F.batch_norm for input (N, C, *): with `training`, normalises with batch
/// statistics and, where running_mean / running_var are defined, updates them
/// in place with factor `momentum`; otherwise uses the running stats. weight
/// and bias (C) may be undefined.
Tensor batch_norm(
    const Tensor& x,
    const Tensor& running_mean,
    const Tensor& running_var,
    const Tensor& weight = {},
    const Tensor& bias = {},
    bool training = false,
    double momentum = 0.1,
    double eps = 1e-5);

/// F.group_norm for input (N, C, *); weight and bias (C) may be undefined.
Tensor group_norm(
    const Tensor& x,
    int64_t num_groups,
    const Tensor& weight = {},
    const Tensor& bias = {},
    double eps = 1e-5);

}  // namespace functional
}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
