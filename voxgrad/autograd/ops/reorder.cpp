// flip and roll: copies that move elements without changing them, forward
// and backward side by side. Each backward is the same op undoing the move
// (flip is its own inverse; roll by -shifts undoes roll by shifts), so
// derivatives of every order exist.

#include <algorithm>
#include <map>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// Sorted unique non-negative axes.
std::vector<int64_t> unique_axes(
    const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<int64_t> axes;
  for (int64_t d : dims)
    axes.push_back(normalize_axis(d, x.dim(), op));
  std::sort(axes.begin(), axes.end());
  VOXGRAD_CHECK(
      std::adjacent_find(axes.begin(), axes.end()) == axes.end(), op, ": dims ",
      shape_str(dims), " name an axis twice");
  return axes;
}

}  // namespace

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  VOXGRAD_CHECK(x.defined(), "flip: the input is undefined");
  require_floating(x.dtype(), "flip", "the input");
  const std::vector<int64_t> axes = unique_axes(x, dims, "flip");
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() > 0) {
    // A view of x that walks the flipped axes backwards (negative strides,
    // never handed out), copied into the contiguous result.
    auto impl = std::make_shared<TensorImpl>(*x.detach().impl());
    for (int64_t a : axes) {
      if (x.dim() == 0)
        break;  // a 0-d tensor is its own flip
      const auto i = static_cast<size_t>(a);
      impl->offset += (impl->shape[i] - 1) * impl->strides[i];
      impl->strides[i] = -impl->strides[i];
    }
    kernels::copy(Tensor(std::move(impl)), out);
  }
  return record(
      Op::flip, out, {x}, {}, [axes](const BackwardArgs& g) -> TensorList {
        return {flip(g.grad, axes)};
      });
}

Tensor roll(
    const Tensor& x,
    const std::vector<int64_t>& shifts,
    const std::vector<int64_t>& dims) {
  VOXGRAD_CHECK(x.defined(), "roll: the input is undefined");
  require_floating(x.dtype(), "roll", "the input");
  if (dims.empty()) {
    // PyTorch: no dims rolls the flattened tensor by the one shift.
    VOXGRAD_CHECK(
        shifts.size() == 1, "roll: without dims, shifts must hold one value ",
        "(the flattened tensor's shift), got ", shape_str(shifts));
    return roll(x.flatten(), shifts, {0}).reshape(x.shape());
  }
  VOXGRAD_CHECK(
      shifts.size() == dims.size(), "roll: shifts and dims must have the ",
      "same length (got shifts ", shape_str(shifts), ", dims ", shape_str(dims),
      ")");
  // Net shift per axis in [0, n): an axis named twice rolls twice.
  std::map<int64_t, int64_t> net;
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t a = normalize_axis(dims[k], x.dim(), "roll");
    const int64_t n = x.dim() == 0 ? 1 : x.size(a);
    if (n > 0)
      net[a] = ((net[a] + shifts[k] % n) % n + n) % n;
  }
  std::erase_if(net, [](const auto& kv) { return kv.second == 0; });
  // The output is 2^k blocks, one per choice of (head, tail) on each rolled
  // axis: out[s:] = x[:n-s] and out[:s] = x[n-s:].
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() > 0) {
    const Tensor src = x.detach(), dst = out.detach();
    std::vector<std::pair<int64_t, int64_t>> rolled(net.begin(), net.end());
    const size_t k = rolled.size();
    for (size_t mask = 0; mask < (size_t{1} << k); ++mask) {
      Tensor s = src, d = dst;
      for (size_t j = 0; j < k; ++j) {
        const auto [a, sh] = rolled[j];
        const int64_t n = x.size(a);
        if (mask >> j & 1) {
          s = s.slice(a, n - sh, n);
          d = d.slice(a, 0, sh);
        } else {
          s = s.slice(a, 0, n - sh);
          d = d.slice(a, sh, n);
        }
      }
      if (s.numel() > 0)
        kernels::copy(s, d);
    }
  }
  std::vector<int64_t> back;
  std::vector<int64_t> back_dims;
  for (const auto& [a, sh] : net) {
    back.push_back(-sh);
    back_dims.push_back(a);
  }
  return record(
      Op::roll, out, {x}, {},
      [back, back_dims](const BackwardArgs& g) -> TensorList {
        return {back.empty() ? g.grad : roll(g.grad, back, back_dims)};
      });
}

}  // namespace voxgrad
