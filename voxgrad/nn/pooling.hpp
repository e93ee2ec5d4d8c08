#pragma once
// 3-D pooling layers and their functional forms, with libtorch's names,
// options and defaults (torch::nn::MaxPool3d, AvgPool3d, AdaptiveMaxPool3d,
// AdaptiveAvgPool3d and torch::nn::functional::max_pool3d, ...). Input (N, C,
// D, H, W) or unbatched (C, D, H, W); the output has the same batchedness.
// Options are checked by PyTorch's rules (each error names the option, its
// value and the rule): kernel, stride, dilation >= 1, 0 <= padding <= kernel /
// 2, every output extent >= 1, and ceil_mode's rule that the last window must
// start inside the input or its left padding. One rule is voxgrad's own: a
// window lying entirely in padding (possible with dilation) is an error;
// PyTorch returns -inf there with an index outside the input.
//
// Output extent per axis (PyTorch's pooling_output_shape):
// ```text
// out = floor((in + 2 p - d (k - 1) - 1 + (ceil_mode ? s - 1 : 0)) / s) + 1,
// minus one if ceil_mode and (out - 1) s >= in + p.
// ```

#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <tuple>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// MaxPool3dOptions(2).stride(2).padding(0).dilation(1).ceil_mode(false)
class MaxPool3dOptions {
 public:
  /// stride defaults to kernel_size, as in PyTorch.
  /* implicit */ MaxPool3dOptions(Int3 kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /* implicit */ MaxPool3dOptions(int64_t kernel_size)
      : MaxPool3dOptions(Int3(kernel_size)) {}
#define VOXGRAD_OPTION(type, name) \
  MaxPool3dOptions& name(type v) { \
    name##_ = v;                   \
    return *this;                  \
  }                                \
  const type& name() const {       \
    return name##_;                \
  }
  VOXGRAD_OPTION(Int3, kernel_size)
  VOXGRAD_OPTION(Int3, stride)
  VOXGRAD_OPTION(Int3, padding)
  /// Spacing between the taps of a window (default 1).
  VOXGRAD_OPTION(Int3, dilation)
  /// Round output extents up (with PyTorch's last-window rule).
  VOXGRAD_OPTION(bool, ceil_mode)
#undef VOXGRAD_OPTION

 private:
  Int3 kernel_size_, stride_;
  Int3 padding_{0};
  Int3 dilation_{1};
  bool ceil_mode_ = false;
};

/// Average pooling's options; every setter here sets its default:
/// ```cpp
/// auto avg = nn::AvgPool3dOptions(2).stride(2).padding(0).ceil_mode(false)
///                .count_include_pad(true).divisor_override(std::nullopt);
/// ```
class AvgPool3dOptions {
 public:
  /// stride defaults to kernel_size, as in PyTorch.
  /* implicit */ AvgPool3dOptions(Int3 kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /* implicit */ AvgPool3dOptions(int64_t kernel_size)
      : AvgPool3dOptions(Int3(kernel_size)) {}
#define VOXGRAD_OPTION(type, name) \
  AvgPool3dOptions& name(type v) { \
    name##_ = v;                   \
    return *this;                  \
  }                                \
  const type& name() const {       \
    return name##_;                \
  }
  VOXGRAD_OPTION(Int3, kernel_size)
  VOXGRAD_OPTION(Int3, stride)
  VOXGRAD_OPTION(Int3, padding)
  /// Round output extents up (with PyTorch's last-window rule).
  VOXGRAD_OPTION(bool, ceil_mode)
  /// Count padded positions in the divisor (default true).
  VOXGRAD_OPTION(bool, count_include_pad)
  /// Divide every window sum by this instead (non-zero).
  VOXGRAD_OPTION(std::optional<int64_t>, divisor_override)
#undef VOXGRAD_OPTION

 private:
  Int3 kernel_size_, stride_;
  Int3 padding_{0};
  bool ceil_mode_ = false;
  bool count_include_pad_ = true;
  std::optional<int64_t> divisor_override_;
};

/// An adaptive pool's output size: an int, or a (depth, height, width)
/// triple whose entries may be std::nullopt (keep the input's extent).
class AdaptiveSize3 {
 public:
  /* implicit */ AdaptiveSize3(int64_t v) : v_{v, v, v} {}
  AdaptiveSize3(
      std::optional<int64_t> d,
      std::optional<int64_t> h,
      std::optional<int64_t> w)
      : v_{d, h, w} {}
  const std::optional<int64_t>& operator[](size_t i) const {
    return v_[i];
  }
  std::string str() const;  // "(4, None, 2)"

 private:
  std::array<std::optional<int64_t>, 3> v_;
};

/// AdaptiveAvgPool3dOptions(1) (global average pooling) or ({4, 4, 4});
/// AdaptiveMaxPool3dOptions is the same struct.
class AdaptivePool3dOptions {
 public:
  /* implicit */ AdaptivePool3dOptions(AdaptiveSize3 output_size)
      : output_size_(output_size) {}
  /* implicit */ AdaptivePool3dOptions(int64_t output_size)
      : output_size_(output_size) {}
  AdaptivePool3dOptions(
      std::optional<int64_t> d,
      std::optional<int64_t> h,
      std::optional<int64_t> w)
      : output_size_(d, h, w) {}
  AdaptivePool3dOptions& output_size(AdaptiveSize3 v) {
    output_size_ = v;
    return *this;
  }
  const AdaptiveSize3& output_size() const {
    return output_size_;
  }

 private:
  AdaptiveSize3 output_size_;
};
using AdaptiveAvgPool3dOptions = AdaptivePool3dOptions;
using AdaptiveMaxPool3dOptions = AdaptivePool3dOptions;

/// Maximum of each window; ties go to the first element in depth-major scan
/// order and a window holding NaN gives NaN, as PyTorch. The gradient goes
/// to that element only.
/// ```cpp
/// nn::MaxPool3d pool(nn::MaxPool3dOptions(3).stride(2).padding(1));
/// ```
class MaxPool3dImpl : public Module {
 public:
  explicit MaxPool3dImpl(const MaxPool3dOptions& options);
  Tensor forward(const Tensor& x);
  /// (output, indices): indices (int64, the output's shape) hold the flat
  /// position d * H * W + h * W + w of each maximum in its (n, c) plane of
  /// the input, as PyTorch's return_indices; nn::MaxUnpool3d reads them.
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& x);
  const MaxPool3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  MaxPool3dOptions options_;
};
VOXGRAD_MODULE(MaxPool3d);

/// Average of each window, divided by the window's element count (padding
/// included with count_include_pad) or by divisor_override.
/// ```cpp
/// nn::AvgPool3d pool(nn::AvgPool3dOptions(2));
/// ```
class AvgPool3dImpl : public Module {
 public:
  explicit AvgPool3dImpl(const AvgPool3dOptions& options);
  Tensor forward(const Tensor& x);
  const AvgPool3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  AvgPool3dOptions options_;
};
VOXGRAD_MODULE(AvgPool3d);

/// Average over PyTorch's adaptive windows: output position o of an axis
/// covers inputs floor(o in / out) .. ceil((o + 1) in / out) - 1.
class AdaptiveAvgPool3dImpl : public Module {
 public:
  explicit AdaptiveAvgPool3dImpl(const AdaptiveAvgPool3dOptions& options);
  Tensor forward(const Tensor& x);
  const AdaptiveAvgPool3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  AdaptiveAvgPool3dOptions options_;
};
VOXGRAD_MODULE(AdaptiveAvgPool3d);

/// Maximum over PyTorch's adaptive windows (as AdaptiveAvgPool3d's), ties
/// and NaN as MaxPool3d.
class AdaptiveMaxPool3dImpl : public Module {
 public:
  explicit AdaptiveMaxPool3dImpl(const AdaptiveMaxPool3dOptions& options);
  Tensor forward(const Tensor& x);
  /// (output, int64 indices), as MaxPool3dImpl::forward_with_indices.
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& x);
  const AdaptiveMaxPool3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  AdaptiveMaxPool3dOptions options_;
};
VOXGRAD_MODULE(AdaptiveMaxPool3d);

namespace functional {
using MaxPool3dFuncOptions = MaxPool3dOptions;
using AvgPool3dFuncOptions = AvgPool3dOptions;
using AdaptiveMaxPool3dFuncOptions = AdaptiveMaxPool3dOptions;
using AdaptiveAvgPool3dFuncOptions = AdaptiveAvgPool3dOptions;
/// F::max_pool3d(x, F::MaxPool3dFuncOptions(3).stride(2).padding(1))
Tensor max_pool3d(const Tensor& x, const MaxPool3dFuncOptions& options);
/// auto [y, indices] = F::max_pool3d_with_indices(x, F::MaxPool3dFuncOptions(2))
/// indices: int64, y's shape, the flat position of each maximum in its
/// input plane (PyTorch's return_indices=True; for F::max_unpool3d).
std::tuple<Tensor, Tensor> max_pool3d_with_indices(
    const Tensor& x, const MaxPool3dFuncOptions& options);
/// F::adaptive_max_pool3d(x, F::AdaptiveMaxPool3dFuncOptions({4, 4, 4}))
Tensor adaptive_max_pool3d(
    const Tensor& x, const AdaptiveMaxPool3dFuncOptions& options);
/// (output, int64 indices), as max_pool3d_with_indices.
std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(
    const Tensor& x, const AdaptiveMaxPool3dFuncOptions& options);
/// F::avg_pool3d(x, F::AvgPool3dFuncOptions(3).stride(2).padding(1))
Tensor avg_pool3d(const Tensor& x, const AvgPool3dFuncOptions& options);
/// F::adaptive_avg_pool3d(x, F::AdaptiveAvgPool3dFuncOptions(1))
Tensor adaptive_avg_pool3d(
    const Tensor& x, const AdaptiveAvgPool3dFuncOptions& options);
}  // namespace functional

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
