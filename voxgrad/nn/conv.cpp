// nn::Conv3d and nn::ConvTranspose3d: option validation at construction,
// SPEC layouts, PyTorch's default init, and forward through the functionals.

#include "voxgrad/nn/conv.hpp"

#include <cmath>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {
namespace {

void check_min(const char* op, const char* arg, const Int3& v, int64_t min) {
  for (size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(
        v[i] >= min, op, ": ", arg, " must be >= ", min, " on every axis (got ",
        v.str(), ")");
  }
}

/// The rules both modules share, checked before any tensor is allocated.
void check_common(
    const char* op,
    int64_t in,
    int64_t out,
    const Int3& kernel,
    const Int3& stride,
    const Int3& dilation,
    int64_t groups) {
  VOXGRAD_CHECK(in >= 1, op, ": in_channels must be >= 1 (got ", in, ")");
  VOXGRAD_CHECK(out >= 1, op, ": out_channels must be >= 1 (got ", out, ")");
  check_min(op, "kernel_size", kernel, 1);
  check_min(op, "stride", stride, 1);
  check_min(op, "dilation", dilation, 1);
  VOXGRAD_CHECK(groups >= 1, op, ": groups must be >= 1 (got ", groups, ")");
  VOXGRAD_CHECK(
      in % groups == 0, op, ": groups (", groups, ") must divide in_channels (",
      in, ")");
  VOXGRAD_CHECK(
      out % groups == 0, op, ": groups (", groups,
      ") must divide out_channels (", out, ")");
}

/// SPEC layout: (a, b, k...) when groups == 1, else (g, a/g, b, k...).
Shape weight_shape(
    int64_t a, int64_t b_per_group, const Int3& k, int64_t groups) {
  if (groups == 1)
    return {a, b_per_group, k[0], k[1], k[2]};
  return {groups, a / groups, b_per_group, k[0], k[1], k[2]};
}

/// "2, 4, 3" for [2, 4, 3]: hints are written in C++, reshape({2, 4, 3}).
std::string inner_str(const Shape& s) {
  const std::string b = shape_str(s);
  return b.substr(1, b.size() - 2);
}

void copy_checked(
    const char* op, const char* what, const Tensor& dst, const Tensor& src) {
  VOXGRAD_CHECK(
      dst.defined(), op, ": this module has no ", what,
      " (it was built with bias(false))");
  VOXGRAD_CHECK(
      src.defined() && src.shape() == dst.shape(), op, ": ", what,
      " must have shape ", shape_str(dst.shape()), " (got ",
      src.defined() ? shape_str(src.shape()) : "undefined", ")",
      src.defined() && src.numel() == dst.numel()
          ? detail::concat(
                "; the same values in the SPEC layout are ", what, ".reshape({",
                inner_str(dst.shape()), "})")
          : "");
  VOXGRAD_CHECK(
      src.dtype() == dst.dtype(), op, ": ", what, " must be ",
      dtype_name(dst.dtype()), " (got ", dtype_name(src.dtype()), ")");
  NoGradGuard guard;
  Tensor(dst).copy_(src);
}

/// PyTorch's reset_parameters: kaiming_uniform(a = sqrt(5)) on the weight,
/// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
void default_init(const Tensor& w, const Tensor& b, Generator* gen) {
  init::kaiming_uniform_(
      w, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  if (b.defined()) {
    const double bound =
        1.0 / std::sqrt(static_cast<double>(init::calculate_fans(w).fan_in));
    init::uniform_(b, -bound, bound, gen);
  }
}

std::string common_repr(
    int64_t in,
    int64_t out,
    const Int3& k,
    const Int3& s,
    const std::string& pad,
    bool pad_default,
    const Int3& dil,
    int64_t groups,
    bool bias) {
  std::string r = detail::concat(in, ", ", out, ", kernel_size=", k.str());
  if (s != Int3(1))
    r += ", stride=" + s.str();
  if (!pad_default)
    r += ", padding=" + pad;
  if (dil != Int3(1))
    r += ", dilation=" + dil.str();
  if (groups != 1)
    r += detail::concat(", groups=", groups);
  if (!bias)
    r += ", bias=false";
  return r;
}

/// Last, as PyTorch prints it; nothing for the default.
std::string mode_repr(PaddingMode mode) {
  if (mode == PaddingMode::Zeros)
    return "";
  return detail::concat(", padding_mode='", padding_mode_name(mode), "'");
}

}  // namespace

Conv3dImpl::Conv3dImpl(const Conv3dOptions& o, Generator* gen) : options_(o) {
  const char* op = "Conv3d";
  check_common(
      op, o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(),
      o.dilation(), o.groups());
  if (o.padding().mode() == Conv3dPadding::Mode::Explicit)
    check_min(op, "padding", o.padding().amount(), 0);
  VOXGRAD_CHECK(
      o.padding().mode() != Conv3dPadding::Mode::Same || o.stride() == Int3(1),
      op, ": padding=\"same\" needs stride 1 (got stride ", o.stride().str(),
      ")");
  register_parameter(
      "weight", weight_,
      empty(weight_shape(
          o.out_channels(), o.in_channels() / o.groups(), o.kernel_size(),
          o.groups())));
  if (o.bias())
    register_parameter("bias", bias_, empty({1, o.out_channels(), 1, 1, 1}));
  reset_parameters(gen);
}

void Conv3dImpl::reset_parameters(Generator* gen) {
  default_init(weight_, bias_, gen);
}

Tensor Conv3dImpl::forward(const Tensor& x) {
  const Conv3dOptions& o = options_;
  return conv3d(
      x, weight_, bias_, o.stride(), o.padding(), o.dilation(), o.groups(),
      o.padding_mode());
}

void Conv3dImpl::set_weight(const Tensor& w) {
  copy_checked("Conv3d", "weight", weight_, w);
}

void Conv3dImpl::set_bias(const Tensor& b) {
  copy_checked("Conv3d", "bias", bias_, b);
}

std::string Conv3dImpl::extra_repr() const {
  const Conv3dOptions& o = options_;
  const bool pad_default =
      o.padding().mode() == Conv3dPadding::Mode::Explicit &&
      o.padding().amount() == Int3(0);
  return common_repr(
             o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(),
             o.padding().str(), pad_default, o.dilation(), o.groups(),
             o.bias()) +
         mode_repr(o.padding_mode());
}

ConvTranspose3dImpl::ConvTranspose3dImpl(
    const ConvTranspose3dOptions& o, Generator* gen)
    : options_(o) {
  const char* op = "ConvTranspose3d";
  check_common(
      op, o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(),
      o.dilation(), o.groups());
  check_min(op, "padding", o.padding(), 0);
  check_min(op, "output_padding", o.output_padding(), 0);
  for (size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(
        o.output_padding()[i] < std::max(o.stride()[i], o.dilation()[i]), op,
        ": output_padding must be smaller than max(stride, dilation) on every ",
        "axis (got output_padding ", o.output_padding().str(), ", stride ",
        o.stride().str(), ", dilation ", o.dilation().str(), ")");
  }
  register_parameter(
      "weight", weight_,
      empty(weight_shape(
          o.in_channels(), o.out_channels() / o.groups(), o.kernel_size(),
          o.groups())));
  if (o.bias())
    register_parameter("bias", bias_, empty({1, o.out_channels(), 1, 1, 1}));
  reset_parameters(gen);
}

void ConvTranspose3dImpl::reset_parameters(Generator* gen) {
  default_init(weight_, bias_, gen);
}

Tensor ConvTranspose3dImpl::forward(const Tensor& x) {
  return forward(x, {});
}

Tensor ConvTranspose3dImpl::forward(
    const Tensor& x, const std::vector<int64_t>& output_size) {
  const ConvTranspose3dOptions& o = options_;
  return conv_transpose3d(
      x, weight_, bias_, o.stride(), o.padding(), o.output_padding(),
      o.groups(), o.dilation(), output_size, o.padding_mode());
}

void ConvTranspose3dImpl::set_weight(const Tensor& w) {
  copy_checked("ConvTranspose3d", "weight", weight_, w);
}

void ConvTranspose3dImpl::set_bias(const Tensor& b) {
  copy_checked("ConvTranspose3d", "bias", bias_, b);
}

std::string ConvTranspose3dImpl::extra_repr() const {
  const ConvTranspose3dOptions& o = options_;
  std::string r = common_repr(
      o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(),
      o.padding().str(), o.padding() == Int3(0), o.dilation(), o.groups(),
      o.bias());
  if (o.output_padding() != Int3(0))
    r += ", output_padding=" + o.output_padding().str();
  return r + mode_repr(o.padding_mode());
}

}  // namespace voxgrad::nn
