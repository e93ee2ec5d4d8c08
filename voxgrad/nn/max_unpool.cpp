// Max unpooling: PyTorch's option rules and output size
// (_unpool_output_size), unbatched inputs and the index checks; the op is
// max_unpool3d_op in voxgrad/autograd/pool_ops.hpp.

#include "voxgrad/nn/max_unpool.hpp"

#include <sstream>

#include "voxgrad/autograd/pool_ops.hpp"
#include "voxgrad/core/checked.hpp"

namespace voxgrad::nn {

namespace {

void check_options(
    const char* op, const Int3& kernel, const Int3& stride, const Int3& pad) {
  for (size_t a = 0; a < 3; ++a) {
    VOXGRAD_CHECK(
        kernel[a] >= 1 && kernel[a] <= (int64_t{1} << 31), op,
        ": kernel_size must be in [1, 2^31] on every axis (got ", kernel.str(),
        ")");
    VOXGRAD_CHECK(
        stride[a] >= 1 && stride[a] <= (int64_t{1} << 31), op,
        ": stride must be in [1, 2^31] on every axis (got ", stride.str(), ")");
    VOXGRAD_CHECK(
        pad[a] >= 0 && pad[a] <= (int64_t{1} << 31), op,
        ": padding must be in [0, 2^31] on every axis (got ", pad.str(), ")");
  }
}

std::string list_str(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << ")";
  return os.str();
}

/// PyTorch's _unpool_output_size: the default extents, or the requested
/// ones (3, or 5 whose first two are dropped), each strictly between the
/// default minus and plus the stride.
std::array<int64_t, 3> output_extents(
    const char* op,
    const Tensor& x5,
    const MaxUnpool3dOptions& o,
    const std::optional<std::vector<int64_t>>& requested) {
  std::array<int64_t, 3> def{};
  for (size_t a = 0; a < 3; ++a) {
    const int64_t in = x5.size(static_cast<int64_t>(a) + 2);
    // stride, kernel and padding <= 2^31; (in - 1) * stride may not fit.
    def[a] = checked::add(
        checked::mul(in - 1, o.stride()[a], op, "output size"),
        o.kernel_size()[a] - 2 * o.padding()[a], op, "output size");
  }
  if (!requested) {
    for (size_t a = 0; a < 3; ++a) {
      VOXGRAD_CHECK(
          def[a] >= 1, op, ": the output size (", def[0], ", ", def[1], ", ",
          def[2], ") = (input - 1) * stride - 2 * padding + kernel_size ",
          "must be >= 1 on every axis; input ", shape_str(x5.shape()),
          ", kernel_size ", o.kernel_size().str(), ", stride ",
          o.stride().str(), ", padding ", o.padding().str());
    }
    return def;
  }
  std::vector<int64_t> r = *requested;
  VOXGRAD_CHECK(
      r.size() == 3 || r.size() == 5, op,
      ": output_size must have 3 elements (D, H, W) or 5 (N, C, D, H, W), ",
      "got ", r.size(), ": ", list_str(r));
  if (r.size() == 5)
    r.erase(r.begin(), r.begin() + 2);
  std::array<int64_t, 3> out{};
  for (size_t a = 0; a < 3; ++a) {
    const int64_t lo = def[a] - o.stride()[a], hi = def[a] + o.stride()[a];
    VOXGRAD_CHECK(
        r[a] > lo && r[a] < hi && r[a] >= 1, op, ": invalid output_size ",
        list_str(*requested), ": spatial dimension ", a, " is ", r[a],
        " but must be > ", lo, " and < ", hi,
        " ((input - 1) * stride - 2 * padding + kernel_size = ", def[a],
        ", plus or minus less than the stride ", o.stride()[a],
        ") and >= 1; input ", shape_str(x5.shape()));
    out[a] = r[a];
  }
  return out;
}

}  // namespace

namespace functional {

Tensor max_unpool3d(
    const Tensor& x, const Tensor& indices, const MaxUnpool3dFuncOptions& fo) {
  constexpr const char* op = "max_unpool3d";
  const MaxUnpool3dOptions o = MaxUnpool3dOptions(fo.kernel_size())
                                   .stride(fo.stride())
                                   .padding(fo.padding());
  check_options(op, o.kernel_size(), o.stride(), o.padding());
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(indices.defined(), op, ": the indices are undefined");
  require_floating(x.dtype(), op, "input");
  VOXGRAD_CHECK(
      indices.dtype() == kInt64, op, ": indices must be int64, got ",
      dtype_name(indices.dtype()));
  VOXGRAD_CHECK(
      x.dim() == 4 || x.dim() == 5, op, ": expected a 5-D input (N, C, D, ",
      "H, W) or unbatched 4-D (C, D, H, W), got ", shape_str(x.shape()));
  for (int64_t a = x.dim() - 4; a < x.dim(); ++a) {
    VOXGRAD_CHECK(
        x.size(a) >= 1, op, ": every non-batch extent of the input must be ",
        ">= 1, got ", shape_str(x.shape()));
  }
  VOXGRAD_CHECK(
      indices.shape() == x.shape(), op, ": indices must have the input's ",
      "shape ", shape_str(x.shape()), ", got ", shape_str(indices.shape()));
  const bool unbatched = x.dim() == 4;
  const Tensor x5 = unbatched ? x.unsqueeze(0) : x;
  const auto out = output_extents(op, x5, o, fo.output_size());
  const int64_t plane = out[0] * out[1] * out[2];
  auto idx = std::make_shared<std::vector<int64_t>>(
      indices.contiguous().to_vector<int64_t>());
  const int64_t small = x5.size(2) * x5.size(3) * x5.size(4);
  for (size_t j = 0; j < idx->size(); ++j) {
    const int64_t i = (*idx)[j];
    VOXGRAD_CHECK(
        i >= 0 && i < plane, op, ": index ", i, " (element ",
        static_cast<int64_t>(j) % small, " of (n, c) plane ",
        static_cast<int64_t>(j) / small, ") is outside the output plane of ",
        out[0], " x ", out[1], " x ", out[2], " = ", plane,
        " elements (every index must be in [0, ", plane, "))");
  }
  const Tensor y = max_unpool3d_op(x5, idx, out);
  return unbatched ? y.squeeze(0) : y;
}

}  // namespace functional

MaxUnpool3dImpl::MaxUnpool3dImpl(const MaxUnpool3dOptions& options)
    : options_(options) {
  check_options(
      "MaxUnpool3d", options.kernel_size(), options.stride(),
      options.padding());
}

Tensor MaxUnpool3dImpl::forward(
    const Tensor& x,
    const Tensor& indices,
    const std::optional<std::vector<int64_t>>& output_size) {
  return functional::max_unpool3d(
      x, indices,
      functional::MaxUnpool3dFuncOptions(options_.kernel_size())
          .stride(options_.stride())
          .padding(options_.padding())
          .output_size(output_size));
}

std::string MaxUnpool3dImpl::extra_repr() const {
  return "kernel_size=" + options_.kernel_size().str() +
         ", stride=" + options_.stride().str() +
         ", padding=" + options_.padding().str();
}

}  // namespace voxgrad::nn
