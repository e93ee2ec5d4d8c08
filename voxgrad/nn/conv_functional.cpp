// voxgrad::conv3d and voxgrad::conv_transpose3d: PyTorch's arguments,
// SPEC §1's validation, and the geometry handed to the three conv ops.

#include <algorithm>

#include "voxgrad/autograd/conv_ops.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad {

using kernels::ConvGeometry3d;

Int3::Int3(std::initializer_list<int64_t> v) : v_{} {
  VOXGRAD_CHECK(
      v.size() == 1 || v.size() == 3, "Int3: expected 1 or 3 values ",
      "(an int or a (depth, height, width) triple), got ", v.size());
  const auto* p = v.begin();
  v_ = v.size() == 1 ? std::array<int64_t, 3>{p[0], p[0], p[0]}
                     : std::array<int64_t, 3>{p[0], p[1], p[2]};
}

std::string Int3::str() const {
  return detail::concat("(", v_[0], ", ", v_[1], ", ", v_[2], ")");
}

Conv3dPadding::Conv3dPadding(const std::string& m) {
  VOXGRAD_CHECK(
      m == "same" || m == "valid", "conv3d: padding string must be ",
      "\"same\" or \"valid\" (got \"", m, "\")");
  mode_ = m == "same" ? Mode::Same : Mode::Valid;
}

std::string Conv3dPadding::str() const {
  if (mode_ == Mode::Same)
    return "'same'";
  if (mode_ == Mode::Valid)
    return "'valid'";
  return amount_.str();
}

namespace {

void check_min(const char* op, const char* arg, const Int3& v, int64_t min) {
  for (size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(
        v[i] >= min, op, ": ", arg, " must be >= ", min, " on every axis (got ",
        v.str(), ")");
  }
}

/// What a weight tensor says about the op, per SPEC's layout table.
struct WeightDims {
  int64_t lead;   // C_out (conv3d) or C_in (conv_transpose3d)
  int64_t inner;  // per-group C_in (conv3d) or C_out (conv_transpose3d)
  Int3 kernel{1};
};

WeightDims read_weight(
    const char* op, const Tensor& w, int64_t groups, const char* layout) {
  const int64_t want = groups == 1 ? 5 : 6;
  if (w.dim() != want) {
    std::string hint;
    if (groups > 1 && w.dim() == 5 && w.shape()[0] % groups == 0) {
      Shape s = w.shape();
      s.insert(s.begin(), groups);
      s[1] /= groups;
      hint = detail::concat(
          "; a PyTorch 5-D weight converts with w.reshape(", shape_str(s), ")");
    }
    VOXGRAD_FAIL(
        op, ": weight must be ", want, "-D ", layout, " for groups = ", groups,
        " (got ", shape_str(w.shape()), ")", hint);
  }
  if (groups > 1) {
    VOXGRAD_CHECK(
        w.shape()[0] == groups, op, ": weight.shape[0] must equal ",
        "groups (expected ", groups, ", got ", w.shape()[0], "); weight ",
        shape_str(w.shape()), " ", layout);
  }
  const Shape& s = w.shape();
  const size_t k0 = s.size() - 3;
  WeightDims d{
      groups == 1 ? s[0] : s[0] * s[1], s[k0 - 1],
      Int3(s[k0], s[k0 + 1], s[k0 + 2])};
  VOXGRAD_CHECK(
      d.lead >= 1 && d.inner >= 1, op, ": weight has no channels (",
      shape_str(s), ")");
  check_min(op, "kernel_size (the weight's last 3 extents)", d.kernel, 1);
  return d;
}

void check_bias(
    const char* op, const Tensor& b, int64_t channels, Dtype dtype) {
  if (!b.defined())
    return;
  const Shape want{1, channels, 1, 1, 1};
  VOXGRAD_CHECK(
      b.shape() == want, op, ": bias must have shape ", shape_str(want),
      " (got ", shape_str(b.shape()), ")",
      b.dim() == 1
          ? "; a PyTorch 1-D bias converts with b.reshape({1, -1, 1, 1, 1})"
          : "");
  VOXGRAD_CHECK(
      b.dtype() == dtype, op, ": bias is ", dtype_name(b.dtype()),
      " but the input is ", dtype_name(dtype));
}

/// Input rank 4 or 5; returns the batched (5-D) view.
Tensor batched_input(const char* op, const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 4 || x.dim() == 5, op, ": input must be 5-D (N, C, D, H, W) ",
      "or unbatched 4-D (C, D, H, W) (got ", shape_str(x.shape()), ")");
  return x.dim() == 4 ? x.unsqueeze(0) : x;
}

Int3 spatial(const Tensor& x5) {
  return Int3(x5.shape()[2], x5.shape()[3], x5.shape()[4]);
}

}  // namespace

Tensor conv3d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias,
    Int3 stride,
    Conv3dPadding padding,
    Int3 dilation,
    int64_t groups) {
  const char* op = "conv3d";
  VOXGRAD_CHECK(weight.defined(), op, ": weight is undefined");
  VOXGRAD_CHECK(groups >= 1, op, ": groups must be >= 1 (got ", groups, ")");
  check_min(op, "stride", stride, 1);
  check_min(op, "dilation", dilation, 1);
  if (padding.mode() == Conv3dPadding::Mode::Explicit)
    check_min(op, "padding", padding.amount(), 0);
  Tensor x5 = batched_input(op, x);
  const WeightDims wd = read_weight(
      op, weight, groups,
      "(C_out, C_in, kd, kh, kw) / (g, C_out/g, C_in/g, kd, kh, kw)");
  VOXGRAD_CHECK(
      x5.shape()[1] == wd.inner * groups, op, ": input.shape[1] (",
      x5.shape()[1], ") must equal weight's C_in/g (", wd.inner, ") * groups (",
      groups, "); input ", shape_str(x.shape()), ", weight ",
      shape_str(weight.shape()), ", groups ", groups);
  VOXGRAD_CHECK(
      x.dtype() == weight.dtype(), op, ": input is ", dtype_name(x.dtype()),
      " but weight is ", dtype_name(weight.dtype()),
      " (convert one with .to())");
  check_bias(op, bias, wd.lead, x.dtype());

  Int3 pad = padding.amount();
  if (padding.mode() == Conv3dPadding::Mode::Valid)
    pad = Int3(0);
  if (padding.mode() == Conv3dPadding::Mode::Same) {
    VOXGRAD_CHECK(
        stride == Int3(1), op, ": padding=\"same\" needs stride 1 ",
        "(got stride ", stride.str(), ")");
    // Total padding dil*(k-1) per axis; PyTorch puts the odd extra element
    // after the data, which we do by padding the input first.
    std::array<int64_t, 3> left{};
    std::vector<int64_t> extra(6, 0);
    bool odd = false;
    for (size_t i = 0; i < 3; ++i) {
      const int64_t total = checked::mul(
          dilation[i], wd.kernel[i] - 1, op,
          "padding=\"same\" (dilation * (kernel - 1))");
      left[i] = total / 2;
      extra[2 * (2 - i) + 1] = total - 2 * left[i];
      odd = odd || total % 2;
    }
    if (odd)
      x5 = voxgrad::pad(x5, extra);
    pad = Int3(left[0], left[1], left[2]);
  }
  ConvGeometry3d g;
  g.N = x5.shape()[0];
  g.C_in = x5.shape()[1];
  g.C_out = wd.lead;
  g.groups = groups;
  g.in = spatial(x5).array();
  g.kernel = wd.kernel.array();
  g.stride = stride.array();
  g.padding = pad.array();
  g.dilation = dilation.array();
  for (size_t i = 0; i < 3; ++i) {
    g.out[i] = ConvGeometry3d::conv_out_size(
        g.in[i], g.kernel[i], g.stride[i], g.padding[i], g.dilation[i]);
  }
  VOXGRAD_CHECK(
      g.out[0] >= 1 && g.out[1] >= 1 && g.out[2] >= 1, op,
      ": output spatial size would be (", g.out[0], ", ", g.out[1], ", ",
      g.out[2], "), but every output size must be >= 1: the input ",
      spatial(x5).str(), " with padding ", pad.str(), " is smaller than the ",
      "dilated kernel (kernel ", wd.kernel.str(), ", dilation ", dilation.str(),
      ")");
  const Tensor y = autograd::conv3d_op(x5, weight, bias, g);
  return x.dim() == 4 ? y.squeeze(0) : y;
}

Tensor conv_transpose3d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias,
    Int3 stride,
    Int3 padding,
    Int3 output_padding,
    int64_t groups,
    Int3 dilation,
    const std::vector<int64_t>& output_size) {
  const char* op = "conv_transpose3d";
  VOXGRAD_CHECK(weight.defined(), op, ": weight is undefined");
  VOXGRAD_CHECK(groups >= 1, op, ": groups must be >= 1 (got ", groups, ")");
  check_min(op, "stride", stride, 1);
  check_min(op, "dilation", dilation, 1);
  check_min(op, "padding", padding, 0);
  check_min(op, "output_padding", output_padding, 0);
  const Tensor x5 = batched_input(op, x);
  const WeightDims wd = read_weight(
      op, weight, groups,
      "(C_in, C_out, kd, kh, kw) / (g, C_in/g, C_out/g, kd, kh, kw)");
  VOXGRAD_CHECK(
      x5.shape()[1] == wd.lead, op, ": input.shape[1] (", x5.shape()[1],
      ") must equal the weight's C_in (", wd.lead, "); input ",
      shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ", groups ",
      groups);
  VOXGRAD_CHECK(
      x.dtype() == weight.dtype(), op, ": input is ", dtype_name(x.dtype()),
      " but weight is ", dtype_name(weight.dtype()),
      " (convert one with .to())");
  const int64_t c_out = wd.inner * groups;
  check_bias(op, bias, c_out, x.dtype());

  const Int3 in = spatial(x5);
  std::array<int64_t, 3> lo{}, hi{}, out{};
  // (in-1)*stride - 2*padding + dilation*(k-1) + 1, overflow-checked: a
  // size that does not fit is an error, never a wrapped value.
  const char* what =
      "the output size ((in-1)*stride - 2*padding + "
      "dilation*(kernel-1) + output_padding + 1)";
  for (size_t i = 0; i < 3; ++i) {
    int64_t v = checked::mul(in[i] - 1, stride[i], op, what);
    v = checked::sub(v, checked::mul(2, padding[i], op, what), op, what);
    v = checked::add(
        v, checked::mul(dilation[i], wd.kernel[i] - 1, op, what), op, what);
    lo[i] = checked::add(v, 1, op, what);
    // PyTorch's reachable range: output_padding below the stride. (Larger
    // output_padding, allowed below the dilation, is reachable only by
    // asking for it explicitly, as in PyTorch.)
    hi[i] = checked::add(lo[i], stride[i] - 1, op, what);
  }
  if (output_size.empty()) {
    for (size_t i = 0; i < 3; ++i) {
      VOXGRAD_CHECK(
          output_padding[i] < std::max(stride[i], dilation[i]), op,
          ": output_padding must be smaller than max(stride, dilation) on ",
          "every axis (got output_padding ", output_padding.str(), ", stride ",
          stride.str(), ", dilation ", dilation.str(), ")");
      out[i] = checked::add(lo[i], output_padding[i], op, what);
    }
  } else {
    VOXGRAD_CHECK(
        output_size.size() >= 3 && output_size.size() <= 5, op,
        ": output_size needs 3 spatial sizes (or 4/5 with C and N), got ",
        output_size.size(), " values ", shape_str(output_size));
    for (size_t i = 0; i < 3; ++i)
      out[i] = output_size[output_size.size() - 3 + i];
    bool ok = true;
    for (size_t i = 0; i < 3; ++i)
      ok = ok && out[i] >= std::max<int64_t>(lo[i], 1) && out[i] <= hi[i];
    VOXGRAD_CHECK(
        ok, op, ": requested output_size (", out[0], ", ", out[1], ", ", out[2],
        ") is not reachable: valid sizes range from (", lo[0], ", ", lo[1],
        ", ", lo[2], ") to (", hi[0], ", ", hi[1], ", ", hi[2],
        ") for an input of spatial size ", in.str(), " (stride ", stride.str(),
        ", padding ", padding.str(), ", dilation ", dilation.str(), ", kernel ",
        wd.kernel.str(), ")");
  }
  VOXGRAD_CHECK(
      out[0] >= 1 && out[1] >= 1 && out[2] >= 1, op,
      ": output spatial size would be (", out[0], ", ", out[1], ", ", out[2],
      "), but every output size must be >= 1 (input ", in.str(), ", stride ",
      stride.str(), ", padding ", padding.str(), ", kernel ", wd.kernel.str(),
      ", dilation ", dilation.str(), ", output_padding ", output_padding.str(),
      ")");
  // The conv whose adjoint this is: it maps our output back to our input.
  ConvGeometry3d g;
  g.N = x5.shape()[0];
  g.C_in = c_out;
  g.C_out = wd.lead;
  g.groups = groups;
  g.in = out;
  g.out = in.array();
  g.kernel = wd.kernel.array();
  g.stride = stride.array();
  g.padding = padding.array();
  g.dilation = dilation.array();
  const Tensor y = autograd::conv_transpose3d_op(x5, weight, bias, g);
  return x.dim() == 4 ? y.squeeze(0) : y;
}

}  // namespace voxgrad
