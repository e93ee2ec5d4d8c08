// Reductions over axes: sum and amax are recorded ops; mean, var and
// logsumexp are compositions of them.

#include <algorithm>
#include <cmath>
#include <limits>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/reduce.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// Sorted unique non-negative axes; empty means every axis.
std::vector<int64_t> resolve_axes(
    const Tensor& x, const std::vector<int64_t>& axes, const char* op) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < x.dim(); ++i)
      out.push_back(i);
    return out;
  }
  for (int64_t a : axes)
    out.push_back(normalize_axis(a, x.dim(), op));
  std::sort(out.begin(), out.end());
  VOXGRAD_CHECK(
      std::adjacent_find(out.begin(), out.end()) == out.end(), op,
      ": axis list ", shape_str(axes), " names an axis twice");
  return out;
}

Shape kept_shape(const Shape& shape, const std::vector<int64_t>& axes) {
  Shape s = shape;
  for (int64_t a : axes)
    s[static_cast<size_t>(a)] = 1;
  return s;
}

Shape dropped_shape(const Shape& shape, const std::vector<int64_t>& axes) {
  Shape s;
  for (size_t i = 0; i < shape.size(); ++i)
    if (!std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(i)))
      s.push_back(shape[i]);
  return s;
}

/// A kernel result (keepdim shape) reshaped without recording.
Tensor shaped(const Tensor& kept, const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>(*kept.impl());
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return Tensor(std::move(impl));
}

int64_t reduced_count(const Tensor& x, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= x.shape()[static_cast<size_t>(a)];
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  const auto ax = resolve_axes(x, axes, "sum");
  const Shape keep = kept_shape(x.shape(), ax);
  const Tensor r = kernels::reduce(kernels::ReduceOp::Sum, x, ax);
  const Shape in_shape = x.shape();
  return record(
      Op::sum, shaped(r, keepdim ? keep : dropped_shape(x.shape(), ax)), {x},
      {}, [keep, in_shape](const BackwardArgs& g) -> TensorList {
        return {g.grad.reshape(keep).expand(in_shape)};
      });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  const auto ax = resolve_axes(x, axes, "mean");
  const int64_t n = reduced_count(x, ax);
  return sum(x, ax, keepdim) *
         (n == 0 ? std::nan("") : 1.0 / static_cast<double>(n));
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  const auto ax = resolve_axes(x, axes, "amax");
  VOXGRAD_CHECK(
      reduced_count(x, ax) > 0, "amax: cannot take the maximum over ",
      "zero elements (input ", shape_str(x.shape()), ", axes ", shape_str(ax),
      ")");
  const Shape keep = kept_shape(x.shape(), ax);
  const Tensor r = kernels::reduce(kernels::ReduceOp::Max, x, ax);
  return record(
      Op::amax, shaped(r, keepdim ? keep : dropped_shape(x.shape(), ax)), {x},
      {x},
      [x, ax, keep](const BackwardArgs& g) -> TensorList {
        // Ties share the gradient equally (PyTorch's amax rule).
        const Tensor hit = eq(x, g.out.detach().reshape(keep));
        const Tensor count = sum(hit, ax, true);
        return {g.grad.reshape(keep) * hit / count};
      },
      /*save_output=*/true);
}

Tensor var(
    const Tensor& x,
    const std::vector<int64_t>& axes,
    bool unbiased,
    bool keepdim) {
  const auto ax = resolve_axes(x, axes, "var");
  const int64_t n = reduced_count(x, ax);
  const Tensor centered = x - mean(x, ax, true);
  const double dof = static_cast<double>(n - (unbiased ? 1 : 0));
  return sum(centered * centered, ax, keepdim) *
         (dof > 0 ? 1.0 / dof : std::nan(""));
}

Tensor logsumexp(
    const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  const auto ax = resolve_axes(x, axes, "logsumexp");
  // Shift by the (constant) maximum so exp never overflows; a -inf or inf
  // maximum would give NaN, so it is replaced by 0 there.
  Tensor m = amax(x.detach(), ax, true);
  m = where(isfinite(m), m, scalar_tensor(0, x.dtype()));
  Tensor out = log(sum(exp(x - m), ax, true)) + m;
  return keepdim ? out : out.reshape(dropped_shape(x.shape(), ax));
}

Tensor Tensor::sum() const {
  return voxgrad::sum(*this);
}
Tensor Tensor::sum(const std::vector<int64_t>& axes, bool keepdim) const {
  return voxgrad::sum(*this, axes, keepdim);
}
Tensor Tensor::mean() const {
  return voxgrad::mean(*this);
}
Tensor Tensor::mean(const std::vector<int64_t>& axes, bool keepdim) const {
  return voxgrad::mean(*this, axes, keepdim);
}
Tensor Tensor::max() const {
  return amax(*this);
}
Tensor Tensor::max(const std::vector<int64_t>& axes, bool keepdim) const {
  return amax(*this, axes, keepdim);
}

}  // namespace voxgrad
