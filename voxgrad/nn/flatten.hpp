#pragma once
// nn::Flatten and nn::Unflatten, as PyTorch's: reshapes that keep the batch.

#include <string>
#include <utility>

#include "voxgrad/nn/module.hpp"

namespace voxgrad::nn {

/// FlattenOptions().start_dim(1).end_dim(-1)
struct FlattenOptions {
  /// First axis to flatten (default 1: keep the batch axis).
  FlattenOptions& start_dim(int64_t v) {
    start_dim_ = v;
    return *this;
  }
  /// Last axis to flatten, negative counts from the end (default -1).
  FlattenOptions& end_dim(int64_t v) {
    end_dim_ = v;
    return *this;
  }
  int64_t start_dim() const {
    return start_dim_;
  }
  int64_t end_dim() const {
    return end_dim_;
  }

 private:
  int64_t start_dim_ = 1;
  int64_t end_dim_ = -1;
};

/// (N, C, D, H, W) -> (N, C*D*H*W) by default.
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {})
      : options_(options) {}
  Tensor forward(const Tensor& x);
  const FlattenOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  FlattenOptions options_;
};
VOXGRAD_MODULE(Flatten);

/// UnflattenOptions(1, {16, 4, 4, 4}): axis `dim` becomes `sizes` (one entry
/// may be -1, inferred).
struct UnflattenOptions {
  UnflattenOptions(int64_t dim, Shape sizes)
      : dim_(dim), sizes_(std::move(sizes)) {}
  int64_t dim() const {
    return dim_;
  }
  const Shape& sizes() const {
    return sizes_;
  }

 private:
  int64_t dim_;
  Shape sizes_;
};

/// (N, 1024) -> (N, 16, 4, 4, 4) with UnflattenOptions(1, {16, 4, 4, 4}).
class UnflattenImpl : public Module {
 public:
  explicit UnflattenImpl(const UnflattenOptions& options);
  Tensor forward(const Tensor& x);
  const UnflattenOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  UnflattenOptions options_;
};
VOXGRAD_MODULE(Unflatten);

}  // namespace voxgrad::nn
