// Indexing, forward and backward side by side: gather / scatter /
// scatter_add, index_select / index_add, and what is built from them
// (take_along_dim, max(dim) / min(dim), topk, masked_fill). Every backward
// is another op of this file, so derivatives of any order exist:
//
// clang-format off
//   op                          d(first input)          d(src)
//   gather(x, d, i)             scatter_add(0, d, i, g)
//   scatter_add(s, d, i, src)   g                       gather(g, d, i)
//   scatter(s, d, i, src)       scatter(g, d, i, 0)     gather(g, d, i)
//   index_select(x, d, i)       index_add(0, d, i, g)
//   index_add(s, d, i, src, a)  g                       a index_select(g, d, i)
// clang-format on
//
// Index tensors are int64, never differentiated, and saved (their values are
// read by the backward, so writing into them in place is caught). The
// kernels (voxgrad/core/kernels/index.cpp) are deterministic: NOTE
// [ Deterministic scatter-add ].

#include "voxgrad/core/kernels/index.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

void check_defined(const Tensor& t, const char* op, const char* arg) {
  VOXGRAD_CHECK(t.defined(), op, ": ", arg, " is undefined");
}

/// An index argument: defined and int64.
void check_index_dtype(const Tensor& index, const char* op, const char* arg) {
  check_defined(index, op, arg);
  VOXGRAD_CHECK(
      index.dtype() == kInt64, op, ": ", arg, " must be int64 (got ",
      dtype_name(index.dtype()), " ", shape_str(index.shape()),
      "); convert it with .to(kInt64)");
}

/// `dim` in [0, max(1, x.dim())): a 0-d tensor has the one axis 0 (-1).
int64_t axis_of(const Tensor& x, int64_t dim, const char* op) {
  return normalize_axis(dim, std::max<int64_t>(1, x.dim()), op);
}

int64_t extent(const Tensor& t, int64_t d) {
  return t.dim() == 0 ? 1 : t.size(d);
}

/// gather / scatter shape rules (PyTorch's): one rank for all, and index no
/// larger than `other` on any axis but `dim` (`all_axes`: on every axis).
void check_fits(
    const Tensor& index,
    const Tensor& other,
    int64_t dim,
    bool all_axes,
    const char* op,
    const char* other_name) {
  VOXGRAD_CHECK(
      index.dim() == other.dim(), op, ": index ", shape_str(index.shape()),
      " must have as many axes as ", other_name, " ", shape_str(other.shape()));
  for (int64_t d = 0; d < index.dim(); ++d) {
    if (d == dim && !all_axes)
      continue;
    VOXGRAD_CHECK(
        index.size(d) <= extent(other, d), op, ": index ",
        shape_str(index.shape()), " is larger than ", other_name, " ",
        shape_str(other.shape()), " on axis ", d,
        all_axes ? "" : " (only the gathered axis may be larger)");
  }
}

/// A gradient with the shape of index, zero-padded at the end of each axis
/// to `shape` (the positions of src that index does not reach get none).
Tensor pad_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape)
    return g;
  std::vector<int64_t> pads;
  for (size_t d = shape.size(); d-- > 0;) {
    pads.push_back(0);
    pads.push_back(shape[d] - g.shape()[d]);
  }
  return pad(g, pads, 0.0);
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  constexpr const char* op = "gather";
  check_defined(x, op, "input");
  check_index_dtype(index, op, "index");
  const int64_t d = axis_of(x, dim, op);
  check_fits(index, x, d, false, op, "input");
  kernels::check_index(index, extent(x, d), op, "index", "the gathered axis");
  const Shape in_shape = x.shape();
  return record(
      Op::gather, kernels::gather(x.detach(), d, index), {x}, {index},
      [in_shape, d, index](const BackwardArgs& g) -> TensorList {
        return {scatter_add(zeros(in_shape, g.grad.dtype()), d, index, g.grad)};
      });
}

Tensor scatter_add(
    const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  constexpr const char* op = "scatter_add";
  check_defined(self, op, "self");
  check_defined(src, op, "src");
  require_floating(self.dtype(), op, "self");
  VOXGRAD_CHECK(
      src.dtype() == self.dtype(), op, ": src is ", dtype_name(src.dtype()),
      " but self is ", dtype_name(self.dtype()));
  check_index_dtype(index, op, "index");
  const int64_t d = axis_of(self, dim, op);
  check_fits(index, src, d, true, op, "src");
  check_fits(index, self, d, false, op, "self");
  kernels::check_index(index, extent(self, d), op, "index", "the target axis");
  const Shape src_shape = src.shape();
  return record(
      Op::scatter_add,
      kernels::scatter(self.detach(), d, index, src.detach(), true),
      {self, src}, {index},
      [d, index, src_shape](const BackwardArgs& g) -> TensorList {
        return {
            g.grad, g.needs[1] ? pad_to(gather(g.grad, d, index), src_shape)
                               : Tensor()};
      });
}

Tensor scatter(
    const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  constexpr const char* op = "scatter";
  check_defined(self, op, "self");
  check_defined(src, op, "src");
  VOXGRAD_CHECK(
      src.dtype() == self.dtype(), op, ": src is ", dtype_name(src.dtype()),
      " but self is ", dtype_name(self.dtype()));
  check_index_dtype(index, op, "index");
  const int64_t d = axis_of(self, dim, op);
  check_fits(index, src, d, true, op, "src");
  check_fits(index, self, d, false, op, "self");
  kernels::check_index(index, extent(self, d), op, "index", "the target axis");
  const Shape src_shape = src.shape();
  // With repeated indices the last source wins; like PyTorch, every source
  // element still gets gather(g), not only the winner.
  return record(
      Op::scatter,
      kernels::scatter(self.detach(), d, index, src.detach(), false),
      {self, src}, {index},
      [d, index, src_shape](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? scatter(g.grad, d, index, 0.0) : Tensor(),
            g.needs[1] ? pad_to(gather(g.grad, d, index), src_shape)
                       : Tensor()};
      });
}

Tensor scatter(
    const Tensor& self, int64_t dim, const Tensor& index, double value) {
  constexpr const char* op = "scatter";
  check_defined(self, op, "self");
  check_index_dtype(index, op, "index");
  if (self.dtype() == kInt64)
    integral_value(value, op, "value");
  const int64_t d = axis_of(self, dim, op);
  check_fits(index, self, d, false, op, "self");
  kernels::check_index(index, extent(self, d), op, "index", "the target axis");
  return record(
      Op::scatter, kernels::scatter_value(self.detach(), d, index, value),
      {self}, {index}, [d, index](const BackwardArgs& g) -> TensorList {
        return {scatter(g.grad, d, index, 0.0)};
      });
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  constexpr const char* op = "index_select";
  check_defined(x, op, "input");
  check_index_dtype(index, op, "index");
  VOXGRAD_CHECK(
      index.dim() <= 1, op, ": index must be 0-d or 1-d (got ",
      shape_str(index.shape()), ")");
  const int64_t d = axis_of(x, dim, op);
  VOXGRAD_CHECK(
      x.dim() > 0 || index.numel() == 1, op,
      ": a 0-d input takes exactly one index (got ", index.numel(), ")");
  kernels::check_index(index, extent(x, d), op, "index", "the selected axis");
  Tensor out = kernels::index_select(x.detach(), d, index);
  if (x.dim() == 0)
    out = out.reshape({});  // PyTorch: a 0-d input gives a 0-d result
  const Shape in_shape = x.shape();
  return record(
      Op::index_select, out, {x}, {index},
      [in_shape, d, index](const BackwardArgs& g) -> TensorList {
        return {index_add(zeros(in_shape, g.grad.dtype()), d, index, g.grad)};
      });
}

Tensor index_add(
    const Tensor& self,
    int64_t dim,
    const Tensor& index,
    const Tensor& source,
    double alpha) {
  constexpr const char* op = "index_add";
  check_defined(self, op, "self");
  check_defined(source, op, "source");
  require_floating(self.dtype(), op, "self");
  VOXGRAD_CHECK(
      source.dtype() == self.dtype(), op, ": source is ",
      dtype_name(source.dtype()), " but self is ", dtype_name(self.dtype()));
  VOXGRAD_CHECK(
      std::isfinite(alpha), op, ": alpha must be finite (got ", alpha, ")");
  check_index_dtype(index, op, "index");
  VOXGRAD_CHECK(
      index.dim() <= 1, op, ": index must be 0-d or 1-d (got ",
      shape_str(index.shape()), ")");
  const int64_t d = axis_of(self, dim, op);
  Shape want = self.shape();
  if (!want.empty())
    want[static_cast<size_t>(d)] = index.numel();
  VOXGRAD_CHECK(
      source.shape() == want || (self.dim() == 0 && source.numel() == 1), op,
      ": source ", shape_str(source.shape()), " must be ", shape_str(want),
      " (self ", shape_str(self.shape()), " with axis ", d,
      " replaced by the index length ", index.numel(), ")");
  kernels::check_index(index, extent(self, d), op, "index", "the target axis");
  const Shape src_shape = source.shape();
  return record(
      Op::index_add,
      kernels::index_add(self.detach(), d, index, source.detach(), alpha),
      {self, source}, {index},
      [d, index, alpha, src_shape](const BackwardArgs& g) -> TensorList {
        Tensor gs;
        if (g.needs[1]) {
          gs = index_select(g.grad, d, index).reshape(src_shape);
          if (alpha != 1.0)
            gs = gs * alpha;
        }
        return {g.grad, gs};
      });
}

Tensor take_along_dim(
    const Tensor& x, const Tensor& indices, std::optional<int64_t> dim) {
  constexpr const char* op = "take_along_dim";
  check_defined(x, op, "input");
  check_index_dtype(indices, op, "indices");
  if (!dim)
    return gather(x.reshape({-1}), 0, indices.reshape({-1}));
  VOXGRAD_CHECK(
      x.dim() == indices.dim(), op, ": input ", shape_str(x.shape()),
      " and indices ", shape_str(indices.shape()),
      " must have the same number of axes");
  const int64_t d = axis_of(x, *dim, op);
  if (x.dim() == 0)
    return gather(x, d, indices);
  // Broadcast every axis but `dim` (NumPy's take_along_axis).
  Shape xs = x.shape(), is = indices.shape();
  xs[static_cast<size_t>(d)] = is[static_cast<size_t>(d)];
  Shape shape = broadcast_shapes(xs, is, op);
  const Tensor ib = indices.expand(shape);
  shape[static_cast<size_t>(d)] = x.size(d);
  return gather(x.expand(shape), d, ib);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  constexpr const char* op = "masked_fill";
  check_defined(x, op, "input");
  check_defined(mask, op, "mask");
  require_floating(x.dtype(), op, "input");
  VOXGRAD_CHECK(
      mask.dtype() == x.dtype() || mask.dtype() == kInt64, op,
      ": mask must be int64 or the input's dtype ", dtype_name(x.dtype()),
      " (got ", dtype_name(mask.dtype()), "); non-zero means fill");
  broadcast_shapes(x.shape(), mask.shape(), op);
  return where(mask.detach(), scalar_tensor(value, x.dtype()), x);
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  constexpr const char* op = "one_hot";
  check_index_dtype(labels, op, "labels");
  VOXGRAD_CHECK(
      num_classes >= -1, op, ": num_classes must be -1 (infer) or >= 0 (got ",
      num_classes, ")");
  if (num_classes == -1) {
    VOXGRAD_CHECK(
        labels.numel() > 0, op,
        ": cannot infer num_classes from an empty tensor; pass num_classes");
    const auto v = labels.to_vector<int64_t>();
    num_classes = *std::max_element(v.begin(), v.end()) + 1;
    VOXGRAD_CHECK(num_classes > 0, op, ": labels must be >= 0");
  }
  kernels::check_index(labels, num_classes, op, "label", "num_classes");
  return kernels::one_hot(labels, num_classes);
}

namespace {

/// The argmax / argmin of x over `dim` with the axis kept (int64).
Tensor arg_keepdim(const Tensor& x, int64_t d, bool max, const char* op) {
  VOXGRAD_CHECK(
      extent(x, d) > 0, op, ": axis ", d, " of input ", shape_str(x.shape()),
      " is empty; there is no ", max ? "maximum" : "minimum");
  return kernels::arg_extreme(x.detach(), d, max);
}

Tensor drop_axis(const Tensor& t, int64_t d, const Tensor& x) {
  return x.dim() == 0 ? t.reshape({}) : t.squeeze(d);
}

Tensor arg_reduce(
    const Tensor& x, std::optional<int64_t> dim, bool keepdim, bool max) {
  const char* op = max ? "argmax" : "argmin";
  check_defined(x, op, "input");
  require_floating(x.dtype(), op, "input");
  if (!dim) {
    VOXGRAD_CHECK(
        x.numel() > 0, op, ": the input ", shape_str(x.shape()),
        " is empty; there is no ", max ? "maximum" : "minimum");
    const Tensor i = kernels::arg_extreme(x.detach().reshape({-1}), 0, max);
    return keepdim ? i.reshape(Shape(static_cast<size_t>(x.dim()), 1))
                   : i.reshape({});
  }
  const int64_t d = axis_of(x, *dim, op);
  const Tensor i = arg_keepdim(x, d, max, op);
  return keepdim ? i : drop_axis(i, d, x);
}

std::tuple<Tensor, Tensor> value_index(
    const Tensor& x, int64_t dim, bool keepdim, bool max) {
  const char* op = max ? "max" : "min";
  check_defined(x, op, "input");
  require_floating(x.dtype(), op, "input");
  const int64_t d = axis_of(x, dim, op);
  const Tensor i = arg_keepdim(x, d, max, op);
  // The value is the element at the index, so its gradient goes to that one
  // element (PyTorch's rule for max(dim), unlike amax's even split).
  const Tensor v = gather(x, d, i);
  if (keepdim)
    return {v, i};
  return {drop_axis(v, d, x), drop_axis(i, d, x)};
}

}  // namespace

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_reduce(x, dim, keepdim, true);
}

Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_reduce(x, dim, keepdim, false);
}

std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return value_index(x, dim, keepdim, true);
}

std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return value_index(x, dim, keepdim, false);
}

Tensor amin(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  check_defined(x, "amin", "input");
  require_floating(x.dtype(), "amin", "input");
  for (int64_t a : axes)
    VOXGRAD_CHECK(
        extent(x, axis_of(x, a, "amin")) > 0, "amin: cannot take the minimum ",
        "over zero elements (input ", shape_str(x.shape()), ", axes ",
        shape_str(axes), ")");
  VOXGRAD_CHECK(
      !axes.empty() || x.numel() > 0, "amin: cannot take the minimum over ",
      "zero elements (input ", shape_str(x.shape()), ")");
  // Negation is exact, so this is amax's rule (ties share the gradient).
  return -amax(-x, axes, keepdim);
}

std::tuple<Tensor, Tensor> topk(
    const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  constexpr const char* op = "topk";
  (void)sorted;  // results are always sorted (allowed when sorted = false)
  check_defined(x, op, "input");
  require_floating(x.dtype(), op, "input");
  const int64_t d = axis_of(x, dim, op);
  VOXGRAD_CHECK(
      k >= 0 && k <= extent(x, d), op, ": k (", k,
      ") must lie in [0, size of axis ", d, " = ", extent(x, d), "] (input ",
      shape_str(x.shape()), ")");
  if (x.dim() == 0) {
    auto [v, i] = topk(x.reshape({1}), k, 0, largest, sorted);
    return k == 1 ? std::tuple{v.reshape({}), i.reshape({})} : std::tuple{v, i};
  }
  const Tensor i = kernels::topk_indices(x.detach(), k, d, largest);
  return {gather(x, d, i), i};
}

// ---- Tensor methods ---------------------------------------------------------

Tensor Tensor::gather(int64_t dim, const Tensor& index) const {
  return voxgrad::gather(*this, dim, index);
}
Tensor Tensor::scatter(
    int64_t dim, const Tensor& index, const Tensor& src) const {
  return voxgrad::scatter(*this, dim, index, src);
}
Tensor Tensor::scatter(int64_t dim, const Tensor& index, double value) const {
  return voxgrad::scatter(*this, dim, index, value);
}
Tensor Tensor::scatter_add(
    int64_t dim, const Tensor& index, const Tensor& src) const {
  return voxgrad::scatter_add(*this, dim, index, src);
}
Tensor Tensor::index_select(int64_t dim, const Tensor& index) const {
  return voxgrad::index_select(*this, dim, index);
}
Tensor Tensor::index_add(
    int64_t dim,
    const Tensor& index,
    const Tensor& source,
    double alpha) const {
  return voxgrad::index_add(*this, dim, index, source, alpha);
}
Tensor Tensor::take_along_dim(
    const Tensor& indices, std::optional<int64_t> dim) const {
  return voxgrad::take_along_dim(*this, indices, dim);
}
Tensor Tensor::masked_fill(const Tensor& mask, double value) const {
  return voxgrad::masked_fill(*this, mask, value);
}
Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const {
  return voxgrad::argmax(*this, dim, keepdim);
}
Tensor Tensor::argmin(std::optional<int64_t> dim, bool keepdim) const {
  return voxgrad::argmin(*this, dim, keepdim);
}
std::tuple<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const {
  return voxgrad::max(*this, dim, keepdim);
}
std::tuple<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const {
  return voxgrad::min(*this, dim, keepdim);
}
Tensor Tensor::min() const {
  return voxgrad::amin(*this);
}
Tensor Tensor::amax(const std::vector<int64_t>& axes, bool keepdim) const {
  return voxgrad::amax(*this, axes, keepdim);
}
Tensor Tensor::amin(const std::vector<int64_t>& axes, bool keepdim) const {
  return voxgrad::amin(*this, axes, keepdim);
}
std::tuple<Tensor, Tensor> Tensor::topk(
    int64_t k, int64_t dim, bool largest, bool sorted) const {
  return voxgrad::topk(*this, k, dim, largest, sorted);
}

}  // namespace voxgrad
