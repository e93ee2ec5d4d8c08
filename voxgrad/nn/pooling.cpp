// The pooling layers and functional forms: PyTorch's option rules, output
// extents and unbatched inputs; the ops are in voxgrad/autograd/pool_ops.hpp.

#include "voxgrad/nn/pooling.hpp"

#include <sstream>

#include "voxgrad/autograd/pool_ops.hpp"
#include "voxgrad/core/checked.hpp"

namespace voxgrad::nn {

std::string AdaptiveSize3::str() const {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < 3; ++i) {
    os << (i ? ", " : "");
    if (v_[i])
      os << *v_[i];
    else
      os << "None";
  }
  os << ")";
  return os.str();
}

namespace {

std::string bool_str(bool b) {
  return b ? "true" : "false";
}

/// Checks kernel / stride / padding / dilation by PyTorch's rules.
void check_window_options(
    const char* op,
    const Int3& kernel,
    const Int3& stride,
    const Int3& padding,
    const Int3& dilation) {
  for (size_t a = 0; a < 3; ++a) {
    VOXGRAD_CHECK(
        kernel[a] >= 1 && kernel[a] <= (int64_t{1} << 31), op,
        ": kernel_size must be in [1, 2^31] on every axis (got ", kernel.str(),
        ")");
    VOXGRAD_CHECK(
        stride[a] >= 1 && stride[a] <= (int64_t{1} << 31), op,
        ": stride must be in [1, 2^31] on every axis (got ", stride.str(), ")");
    VOXGRAD_CHECK(
        dilation[a] >= 1 && dilation[a] <= (int64_t{1} << 31), op,
        ": dilation must be in [1, 2^31] on every axis (got ", dilation.str(),
        ")");
    VOXGRAD_CHECK(
        padding[a] >= 0 && padding[a] <= kernel[a] / 2, op,
        ": padding must be >= 0 and at most half of kernel_size (got padding ",
        padding.str(), ", kernel_size ", kernel.str(), ")");
  }
}

/// (input, was it unbatched): the 5-D form of a 4-D or 5-D input whose
/// non-batch extents are all >= 1.
std::pair<Tensor, bool> batched(const Tensor& x, const char* op) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 4 || x.dim() == 5, op, ": expected a 5-D input (N, C, D, H, ",
      "W) or unbatched 4-D (C, D, H, W), got ", shape_str(x.shape()));
  for (int64_t a = x.dim() - 4; a < x.dim(); ++a) {
    VOXGRAD_CHECK(
        x.size(a) >= 1, op, ": every non-batch extent of the input must be ",
        ">= 1, got ", shape_str(x.shape()));
  }
  return {x.dim() == 4 ? x.unsqueeze(0) : x, x.dim() == 4};
}

Tensor restore(const Tensor& y, bool unbatched) {
  return unbatched ? y.squeeze(0) : y;
}

/// Max pooling of x5 by `spec`, and the indices of the maxima as an int64
/// tensor (a copy of the ones the backward keeps, so writing into it cannot
/// change a gradient).
std::tuple<Tensor, Tensor> with_indices(
    const Tensor& x5, const PoolSpec3d& spec, bool unbatched) {
  PoolIndices idx;
  const Tensor y = max_pool3d_op(x5, spec, &idx);
  return {
      restore(y, unbatched),
      restore(pool_indices_tensor(idx, y.shape()), unbatched)};
}

std::string size_str(const Tensor& x5) {
  return detail::concat(
      "(", x5.size(1), ", ", x5.size(2), ", ", x5.size(3), ", ", x5.size(4),
      ")");
}

/// The regular-pool spec of x5 (5-D), with PyTorch's output extents.
PoolSpec3d regular_spec(
    const char* op,
    const Tensor& x5,
    const Int3& kernel,
    const Int3& stride,
    const Int3& padding,
    const Int3& dilation,
    bool ceil_mode) {
  check_window_options(op, kernel, stride, padding, dilation);
  PoolSpec3d s;
  bool ok = true;
  for (size_t a = 0; a < 3; ++a) {
    const int64_t in = x5.size(static_cast<int64_t>(a) + 2);
    const int64_t k = kernel[a], st = stride[a], p = padding[a],
                  d = dilation[a];
    // Kernel, stride, dilation <= 2^31 and padding <= kernel / 2: the
    // numerator fits in int64 for any input extent that exists.
    const int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? st - 1 : 0);
    int64_t out = (num >= 0 ? num / st : -((-num + st - 1) / st)) + 1;
    if (ceil_mode && (out - 1) * st >= in + p)
      --out;
    s.in[a] = in;
    s.out[a] = out;
    s.kernel[a] = k;
    s.stride[a] = st;
    s.padding[a] = p;
    s.dilation[a] = d;
    ok = ok && out >= 1;
  }
  VOXGRAD_CHECK(
      ok, op, ": given input size ", size_str(x5), ", the calculated output ",
      "size (", x5.size(1), ", ", s.out[0], ", ", s.out[1], ", ", s.out[2],
      ") is too small (every extent must be >= 1); kernel_size ", kernel.str(),
      ", stride ", stride.str(), ", padding ", padding.str(), ", dilation ",
      dilation.str());
  for (size_t a = 0; a < 3; ++a) {
    const int64_t o = kernels::pool_axis_empty(
        s.in[a], s.out[a], s.kernel[a], s.stride[a], s.padding[a],
        s.dilation[a]);
    VOXGRAD_CHECK(
        o < 0, op, ": the window of output position ", o, " along axis ", a + 2,
        " lies entirely in padding (input size ", size_str(x5),
        ", kernel_size ", kernel.str(), ", padding ", padding.str(),
        ", dilation ", dilation.str(),
        "); every window must hold an input element");
  }
  return s;
}

PoolSpec3d adaptive_spec(
    const char* op, const Tensor& x5, const AdaptiveSize3& size) {
  PoolSpec3d s;
  s.adaptive = true;
  for (size_t a = 0; a < 3; ++a) {
    s.in[a] = x5.size(static_cast<int64_t>(a) + 2);
    s.out[a] = size[a].value_or(s.in[a]);
    VOXGRAD_CHECK(
        s.out[a] >= 0, op, ": output_size must be >= 0 (or None) on every ",
        "axis (got ", size.str(), ")");
  }
  return s;
}

std::string avg_repr(const AvgPool3dOptions& o) {
  std::ostringstream os;
  os << "kernel_size=" << o.kernel_size().str()
     << ", stride=" << o.stride().str() << ", padding=" << o.padding().str()
     << ", ceil_mode=" << bool_str(o.ceil_mode())
     << ", count_include_pad=" << bool_str(o.count_include_pad());
  if (o.divisor_override())
    os << ", divisor_override=" << *o.divisor_override();
  return os.str();
}

std::string max_repr(const MaxPool3dOptions& o) {
  std::ostringstream os;
  os << "kernel_size=" << o.kernel_size().str()
     << ", stride=" << o.stride().str() << ", padding=" << o.padding().str()
     << ", dilation=" << o.dilation().str()
     << ", ceil_mode=" << bool_str(o.ceil_mode());
  return os.str();
}

void check_adaptive_options(const AdaptivePool3dOptions& o, const char* op) {
  for (size_t a = 0; a < 3; ++a) {
    VOXGRAD_CHECK(
        o.output_size()[a].value_or(0) >= 0, op,
        ": output_size must be >= 0 (or None) on every axis (got ",
        o.output_size().str(), ")");
  }
}

void check_avg_options(const AvgPool3dOptions& o, const char* op) {
  check_window_options(op, o.kernel_size(), o.stride(), o.padding(), 1);
  VOXGRAD_CHECK(
      !o.divisor_override() || *o.divisor_override() != 0, op,
      ": divisor_override must not be 0");
}

}  // namespace

// ---- modules ----------------------------------------------------------------

MaxPool3dImpl::MaxPool3dImpl(const MaxPool3dOptions& options)
    : options_(options) {
  check_window_options(
      "MaxPool3d", options.kernel_size(), options.stride(), options.padding(),
      options.dilation());
}

Tensor MaxPool3dImpl::forward(const Tensor& x) {
  return functional::max_pool3d(x, options_);
}

std::tuple<Tensor, Tensor> MaxPool3dImpl::forward_with_indices(
    const Tensor& x) {
  return functional::max_pool3d_with_indices(x, options_);
}

std::string MaxPool3dImpl::extra_repr() const {
  return max_repr(options_);
}

AvgPool3dImpl::AvgPool3dImpl(const AvgPool3dOptions& options)
    : options_(options) {
  check_avg_options(options, "AvgPool3d");
}

Tensor AvgPool3dImpl::forward(const Tensor& x) {
  return functional::avg_pool3d(x, options_);
}

std::string AvgPool3dImpl::extra_repr() const {
  return avg_repr(options_);
}

AdaptiveAvgPool3dImpl::AdaptiveAvgPool3dImpl(
    const AdaptiveAvgPool3dOptions& options)
    : options_(options) {
  check_adaptive_options(options, "AdaptiveAvgPool3d");
}

Tensor AdaptiveAvgPool3dImpl::forward(const Tensor& x) {
  return functional::adaptive_avg_pool3d(x, options_);
}

std::string AdaptiveAvgPool3dImpl::extra_repr() const {
  return "output_size=" + options_.output_size().str();
}

AdaptiveMaxPool3dImpl::AdaptiveMaxPool3dImpl(
    const AdaptiveMaxPool3dOptions& options)
    : options_(options) {
  check_adaptive_options(options, "AdaptiveMaxPool3d");
}

Tensor AdaptiveMaxPool3dImpl::forward(const Tensor& x) {
  return functional::adaptive_max_pool3d(x, options_);
}

std::tuple<Tensor, Tensor> AdaptiveMaxPool3dImpl::forward_with_indices(
    const Tensor& x) {
  return functional::adaptive_max_pool3d_with_indices(x, options_);
}

std::string AdaptiveMaxPool3dImpl::extra_repr() const {
  return "output_size=" + options_.output_size().str();
}

// ---- functional -------------------------------------------------------------

namespace functional {

Tensor max_pool3d(const Tensor& x, const MaxPool3dFuncOptions& o) {
  constexpr const char* op = "max_pool3d";
  const auto [x5, unbatched] = batched(x, op);
  const PoolSpec3d s = regular_spec(
      op, x5, o.kernel_size(), o.stride(), o.padding(), o.dilation(),
      o.ceil_mode());
  return restore(max_pool3d_op(x5, s), unbatched);
}

std::tuple<Tensor, Tensor> max_pool3d_with_indices(
    const Tensor& x, const MaxPool3dFuncOptions& o) {
  constexpr const char* op = "max_pool3d_with_indices";
  const auto [x5, unbatched] = batched(x, op);
  const PoolSpec3d s = regular_spec(
      op, x5, o.kernel_size(), o.stride(), o.padding(), o.dilation(),
      o.ceil_mode());
  return with_indices(x5, s, unbatched);
}

Tensor adaptive_max_pool3d(
    const Tensor& x, const AdaptiveMaxPool3dFuncOptions& o) {
  constexpr const char* op = "adaptive_max_pool3d";
  const auto [x5, unbatched] = batched(x, op);
  return restore(
      max_pool3d_op(x5, adaptive_spec(op, x5, o.output_size())), unbatched);
}

std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(
    const Tensor& x, const AdaptiveMaxPool3dFuncOptions& o) {
  constexpr const char* op = "adaptive_max_pool3d_with_indices";
  const auto [x5, unbatched] = batched(x, op);
  return with_indices(x5, adaptive_spec(op, x5, o.output_size()), unbatched);
}

Tensor avg_pool3d(const Tensor& x, const AvgPool3dFuncOptions& o) {
  constexpr const char* op = "avg_pool3d";
  check_avg_options(o, op);
  const auto [x5, unbatched] = batched(x, op);
  PoolSpec3d s = regular_spec(
      op, x5, o.kernel_size(), o.stride(), o.padding(), 1, o.ceil_mode());
  s.count_include_pad = o.count_include_pad();
  s.divisor_override = o.divisor_override().value_or(0);
  return restore(avg_pool3d_op(x5, s), unbatched);
}

Tensor adaptive_avg_pool3d(
    const Tensor& x, const AdaptiveAvgPool3dFuncOptions& o) {
  constexpr const char* op = "adaptive_avg_pool3d";
  const auto [x5, unbatched] = batched(x, op);
  return restore(
      avg_pool3d_op(x5, adaptive_spec(op, x5, o.output_size())), unbatched);
}

}  // namespace functional
}  // namespace voxgrad::nn
