#pragma once
// nn::Upsample / nn::functional::interpolate for 5-D input (N, C, D, H, W),
// PyTorch 1.13 semantics: mode "nearest" (floor(dst * in / out), not
// "nearest-exact") or "trilinear" (align_corners as PyTorch, default false).
// With scale_factor, the output size is floor(in * scale) and the source
// index uses 1 / scale (PyTorch's recompute_scale_factor = None).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

enum class UpsampleMode { Nearest, Trilinear };

/// A scale factor or an output size:
/// ```cpp
/// auto twice = nn::UpsampleOptions().scale_factor({2, 2, 2}).mode(
///     nn::UpsampleMode::Trilinear).align_corners(false);
/// auto sized = nn::UpsampleOptions().size({8, 8, 8});
/// ```
struct UpsampleOptions {
  /// Output (D, H, W), or one extent for all three.
  UpsampleOptions& size(std::vector<int64_t> v) {
    size_ = std::move(v);
    return *this;
  }
  UpsampleOptions& size(int64_t v) {
    return size(std::vector<int64_t>{v});
  }
  /// Multiplier per axis (D, H, W), or one for all three.
  UpsampleOptions& scale_factor(std::vector<double> v) {
    scale_factor_ = std::move(v);
    return *this;
  }
  UpsampleOptions& scale_factor(double v) {
    return scale_factor(std::vector<double>{v});
  }
  /// Default nearest.
  UpsampleOptions& mode(UpsampleMode m) {
    mode_ = m;
    return *this;
  }
  /// Trilinear only; unset means false.
  UpsampleOptions& align_corners(std::optional<bool> v) {
    align_corners_ = v;
    return *this;
  }
  const std::optional<std::vector<int64_t>>& size() const {
    return size_;
  }
  const std::optional<std::vector<double>>& scale_factor() const {
    return scale_factor_;
  }
  UpsampleMode mode() const {
    return mode_;
  }
  std::optional<bool> align_corners() const {
    return align_corners_;
  }

 private:
  std::optional<std::vector<int64_t>> size_;
  std::optional<std::vector<double>> scale_factor_;
  UpsampleMode mode_ = UpsampleMode::Nearest;
  std::optional<bool> align_corners_;
};

/// "nearest" / "trilinear".
const char* mode_name(UpsampleMode mode);

/// Nearest or trilinear upsampling (torch::nn::Upsample):
/// ```cpp
/// nn::Upsample up(
///     nn::UpsampleOptions().scale_factor(2).mode(UpsampleMode::Trilinear));
/// ```
class UpsampleImpl : public Module {
 public:
  explicit UpsampleImpl(const UpsampleOptions& options);
  Tensor forward(const Tensor& x);
  const UpsampleOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  UpsampleOptions options_;
};
VOXGRAD_MODULE(Upsample);

namespace functional {
/// F.interpolate for 5-D input with nearest or trilinear mode.
Tensor interpolate(const Tensor& x, const UpsampleOptions& options);
}  // namespace functional

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
