#pragma once
// nn::Dropout and nn::Dropout3d, as PyTorch's: in training, zero each element
// (Dropout) or each whole channel (Dropout3d) with probability p and scale
// the rest by 1 / (1 - p); identity in eval. Masks come from a
// voxgrad::Generator (the default one unless options name another), so runs
// are reproducible; the stream differs from PyTorch's, so only the
// semantics match, not the masks.

#include <memory>
#include <string>
#include <utility>

#include "voxgrad/core/random.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// DropoutOptions(0.2).generator(std::make_shared<Generator>(42))
struct DropoutOptions {
  /// Probability of zeroing (default 0.5), in [0, 1].
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit like libtorch
  DropoutOptions& p(double v) {
    p_ = v;
    return *this;
  }
  /// Draw masks from this generator (shared; default: the global one).
  DropoutOptions& generator(std::shared_ptr<Generator> gen) {
    generator_ = std::move(gen);
    return *this;
  }
  double p() const {
    return p_;
  }
  const std::shared_ptr<Generator>& generator() const {
    return generator_;
  }

 private:
  double p_;
  std::shared_ptr<Generator> generator_;
};

/// Any input shape.
/// ```cpp
/// nn::Dropout drop(nn::DropoutOptions(0.1));
/// ```
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x);
  const DropoutOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  DropoutOptions options_;
};
VOXGRAD_MODULE(Dropout);

/// Input (N, C, D, H, W), or unbatched (C, D, H, W); zeroes whole channels.
class Dropout3dImpl : public Module {
 public:
  explicit Dropout3dImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x);
  const DropoutOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  DropoutOptions options_;
};
VOXGRAD_MODULE(Dropout3d);

namespace functional {
/// F.dropout: x * mask / (1 - p) when training (all zeros for p = 1).
Tensor dropout(
    const Tensor& x, double p, bool training, Generator* gen = nullptr);
/// F.dropout3d: one mask value per (n, c) channel of a 5-D (or unbatched
/// 4-D) input.
Tensor dropout3d(
    const Tensor& x, double p, bool training, Generator* gen = nullptr);
}  // namespace functional

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
