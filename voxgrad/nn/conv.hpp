#pragma once
// Conv3d and ConvTranspose3d: the functional forms (voxgrad::conv3d,
// voxgrad::conv_transpose3d) and the modules (nn::Conv3d,
// nn::ConvTranspose3d), with PyTorch's arguments and the layouts of
// ../shared/SPEC.md:
//
// ```text
// Conv3d weight           (C_out, C_in, kd, kh, kw)   groups = 1
//                         (g, C_out/g, C_in/g, k...)  groups = g > 1
// ConvTranspose3d weight  (C_in, C_out, kd, kh, kw)   groups = 1
//                         (g, C_in/g, C_out/g, k...)  groups = g > 1
// bias (both)             (1, C_out, 1, 1, 1)
// ```
//
// A ConvTranspose3d(in -> out) weight is the weight of the Conv3d(out -> in)
// whose adjoint it is: the same tensor, read by the other op. See NOTE [ Conv
// adjointness ] in voxgrad/core/kernels/conv3d.hpp.
//
// padding_mode (zeros, reflect, replicate, circular; docs/padding-modes.md):
// Conv3d pads its input in that mode, as PyTorch's nn.Conv3d does, and
// ConvTranspose3d is the exact adjoint of that Conv3d(out -> in): it adds
// every halo value back onto the voxel it was copied from, then crops.

#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "voxgrad/core/padding_mode.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// An int or a (depth, height, width) triple: `3`, `{3, 3, 1}`.
class Int3 {
 public:
  Int3(int64_t v) : v_{v, v, v} {}  // NOLINT: implicit, as in libtorch
  Int3(int64_t d, int64_t h, int64_t w) : v_{d, h, w} {}
  /// {v} or {d, h, w}; any other length throws.
  Int3(std::initializer_list<int64_t> v);
  int64_t operator[](size_t i) const {
    return v_[i];
  }
  const std::array<int64_t, 3>& array() const {
    return v_;
  }
  bool operator==(const Int3& o) const = default;
  std::string str() const;  // "(3, 3, 1)"

 private:
  std::array<int64_t, 3> v_;
};

/// Conv3d padding: an amount (int or triple), or "same" / "valid".
class Conv3dPadding {
 public:
  enum class Mode { Explicit, Same, Valid };
  Conv3dPadding(int64_t v) : amount_(v) {}  // NOLINT
  Conv3dPadding(Int3 v) : amount_(v) {}     // NOLINT
  Conv3dPadding(std::initializer_list<int64_t> v) : amount_(v) {}
  /// "same" or "valid"; anything else throws. (A string-literal template,
  /// not const char*, so that padding(0) is not ambiguous with a null.)
  template <size_t N>
  Conv3dPadding(const char (&mode)[N])  // NOLINT
      : Conv3dPadding(std::string(mode)) {}
  Conv3dPadding(const std::string& mode);  // NOLINT
  Mode mode() const {
    return mode_;
  }
  const Int3& amount() const {
    return amount_;
  }
  std::string str() const;

 private:
  Mode mode_ = Mode::Explicit;
  Int3 amount_{0};
};

// ---- functional ------------------------------------------------------------

/// 3-D convolution (torch.nn.functional.conv3d). x: (N, C_in, D, H, W) or
/// unbatched (C_in, D, H, W); weight and bias as in the table above.
/// `padding_mode` pads x in that mode first, as nn.Conv3d(padding_mode=...)
/// does (reflect needs padding < the input size, circular <= it).
/// ```cpp
/// Tensor y = voxgrad::conv3d(x, w, b, /*stride=*/2, /*padding=*/1);
/// Tensor p = voxgrad::conv3d(x, w, b, 1, 1, 1, 1, voxgrad::kCircular);
/// ```
Tensor conv3d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias = {},
    Int3 stride = 1,
    Conv3dPadding padding = int64_t{0},
    Int3 dilation = 1,
    int64_t groups = 1,
    PaddingMode padding_mode = PaddingMode::Zeros);

/// Transposed 3-D convolution (torch.nn.functional.conv_transpose3d), the
/// adjoint of conv3d with the same weight. `output_size` (3 spatial ints, or
/// 4/5 with C and N) picks the output_padding that reaches it; sizes outside
/// the reachable range are an error that names the range. With a
/// `padding_mode` it is the adjoint of conv3d with that mode (the output
/// size is unchanged; reflect needs padding < the output size, circular
/// <= it).
Tensor conv_transpose3d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias = {},
    Int3 stride = 1,
    Int3 padding = 0,
    Int3 output_padding = 0,
    int64_t groups = 1,
    Int3 dilation = 1,
    const std::vector<int64_t>& output_size = {},
    PaddingMode padding_mode = PaddingMode::Zeros);

namespace nn {

/// nn::PaddingMode::Circular, or libtorch's spelling nn::kCircular.
using voxgrad::kCircular;
using voxgrad::kReflect;
using voxgrad::kReplicate;
using voxgrad::kZeros;
using voxgrad::PaddingMode;

/// Conv3dOptions(3, 64, 3).stride(2).padding(1): each setter returns *this;
/// the same name without argument reads the value.
/// ```cpp
/// auto options = nn::Conv3dOptions(1, 8, 3).padding(1).padding_mode(
///     nn::kCircular);
/// ```
class Conv3dOptions {
 public:
  Conv3dOptions(int64_t in_channels, int64_t out_channels, Int3 kernel_size)
      : in_channels_(in_channels),
        out_channels_(out_channels),
        kernel_size_(kernel_size) {}
#define VOXGRAD_OPTION(type, name) \
  Conv3dOptions& name(type v) {    \
    name##_ = v;                   \
    return *this;                  \
  }                                \
  const type& name() const {       \
    return name##_;                \
  }
  VOXGRAD_OPTION(int64_t, in_channels)
  VOXGRAD_OPTION(int64_t, out_channels)
  VOXGRAD_OPTION(Int3, kernel_size)
  VOXGRAD_OPTION(Int3, stride)
  VOXGRAD_OPTION(Conv3dPadding, padding)
  VOXGRAD_OPTION(Int3, dilation)
  VOXGRAD_OPTION(int64_t, groups)
  VOXGRAD_OPTION(bool, bias)
  VOXGRAD_OPTION(PaddingMode, padding_mode)
#undef VOXGRAD_OPTION

 private:
  int64_t in_channels_, out_channels_;
  Int3 kernel_size_;
  Int3 stride_{1};
  Conv3dPadding padding_{int64_t{0}};
  Int3 dilation_{1};
  int64_t groups_ = 1;
  bool bias_ = true;
  PaddingMode padding_mode_ = PaddingMode::Zeros;
};

/// ConvTranspose3d's options, chained as in libtorch:
/// ConvTranspose3dOptions(in, out, k).stride(2).padding(1).output_padding(1).
class ConvTranspose3dOptions {
 public:
  ConvTranspose3dOptions(
      int64_t in_channels, int64_t out_channels, Int3 kernel_size)
      : in_channels_(in_channels),
        out_channels_(out_channels),
        kernel_size_(kernel_size) {}
#define VOXGRAD_OPTION(type, name)       \
  ConvTranspose3dOptions& name(type v) { \
    name##_ = v;                         \
    return *this;                        \
  }                                      \
  const type& name() const {             \
    return name##_;                      \
  }
  VOXGRAD_OPTION(int64_t, in_channels)
  VOXGRAD_OPTION(int64_t, out_channels)
  VOXGRAD_OPTION(Int3, kernel_size)
  VOXGRAD_OPTION(Int3, stride)
  VOXGRAD_OPTION(Int3, padding)
  VOXGRAD_OPTION(Int3, output_padding)
  VOXGRAD_OPTION(Int3, dilation)
  VOXGRAD_OPTION(int64_t, groups)
  VOXGRAD_OPTION(bool, bias)
  /// The adjoint of Conv3d(out -> in) with this padding_mode (PyTorch's
  /// ConvTranspose3d accepts only zeros).
  VOXGRAD_OPTION(PaddingMode, padding_mode)
#undef VOXGRAD_OPTION

 private:
  int64_t in_channels_, out_channels_;
  Int3 kernel_size_;
  Int3 stride_{1};
  Int3 padding_{0};
  Int3 output_padding_{0};
  Int3 dilation_{1};
  int64_t groups_ = 1;
  bool bias_ = true;
  PaddingMode padding_mode_ = PaddingMode::Zeros;
};

/// Conv3d module. Construction validates the options (each error names the
/// option, its value and the rule) and initialises as PyTorch does: weight
/// and bias U(-b, b), b = 1/sqrt(fan_in), fan_in = (C_in/g)·kd·kh·kw.
/// ```cpp
/// nn::Conv3d conv(nn::Conv3dOptions(1, 16, 3).padding(1));
/// Tensor y = conv(x);
/// ```
class Conv3dImpl : public Module {
 public:
  explicit Conv3dImpl(const Conv3dOptions& options, Generator* gen = nullptr);
  Tensor forward(const Tensor& x);
  const Conv3dOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }
  /// Undefined when built with bias(false).
  const Tensor& bias() const {
    return bias_;
  }
  /// Copies new values in (shape and dtype must match the SPEC layout).
  void set_weight(const Tensor& w);
  void set_bias(const Tensor& b);
  /// Re-draws weight and bias with PyTorch's default init.
  void reset_parameters(Generator* gen = nullptr);

 protected:
  std::string extra_repr() const override;

 private:
  Conv3dOptions options_;
  Tensor weight_, bias_;
};
VOXGRAD_MODULE(Conv3d);

/// ConvTranspose3d module; fan_in = (C_out/g)·kd·kh·kw as in PyTorch.
/// ```cpp
/// nn::ConvTranspose3d up(
///     nn::ConvTranspose3dOptions(3, 64, 3).stride(2).padding(1));
/// up(x);                           // (2, 3, 8, 8, 8) -> (2, 64, 15, 15, 15)
/// up(x, std::vector<int64_t>{16, 16, 16});  // output_padding 1 derived
/// ```
class ConvTranspose3dImpl : public Module {
 public:
  explicit ConvTranspose3dImpl(
      const ConvTranspose3dOptions& options, Generator* gen = nullptr);
  Tensor forward(const Tensor& x);
  Tensor forward(const Tensor& x, const std::vector<int64_t>& output_size);
  const ConvTranspose3dOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }
  const Tensor& bias() const {
    return bias_;
  }
  void set_weight(const Tensor& w);
  void set_bias(const Tensor& b);
  void reset_parameters(Generator* gen = nullptr);

 protected:
  std::string extra_repr() const override;

 private:
  ConvTranspose3dOptions options_;
  Tensor weight_, bias_;
};
VOXGRAD_MODULE(ConvTranspose3d);

}  // namespace nn
}  // namespace voxgrad

VOXGRAD_PUBLIC_END
