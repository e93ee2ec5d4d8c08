// Views and copies: reshape, permute, expand, slice (+ its backward), cat,
// pad, contiguous, clone, dtype conversion. Views share storage and record a
// node like any op, so gradients flow through them.

#include <algorithm>
#include <numeric>
#include <optional>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

Tensor make_view(
    const Tensor& base, Shape shape, Strides strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

/// A contiguous copy that records nothing (ops record their own node).
Tensor raw_copy(const Tensor& x) {
  Tensor out = empty(x.shape(), x.dtype());
  kernels::copy(x, out);
  return out;
}

Shape infer_shape(
    const Shape& shape, int64_t n, const char* op, const Shape& from) {
  Shape out = shape;
  int64_t infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      VOXGRAD_CHECK(
          infer < 0, op, ": only one extent can be -1 (got ", shape_str(shape),
          ")");
      infer = static_cast<int64_t>(i);
      out[i] = 1;
    } else {
      VOXGRAD_CHECK(
          out[i] >= 0, op, ": extents must be >= 0 or -1 (got ",
          shape_str(shape), ")");
    }
  }
  // Overflow-checked: a shape like [2^62 + 1, 4] must not wrap to 4.
  const int64_t known = checked::numel(out, op);
  if (infer >= 0) {
    VOXGRAD_CHECK(
        known != 0 && n % known == 0, op, ": cannot infer the -1 in ",
        shape_str(shape), " for ", n, " elements (from ", shape_str(from), ")");
    out[static_cast<size_t>(infer)] = n / known;
  }
  const int64_t have = checked::numel(out, op);
  VOXGRAD_CHECK(
      have == n, op, ": shape ", shape_str(shape), " has ", have,
      " elements but the input ", shape_str(from), " has ", n,
      " (reshape({-1}) infers one extent)");
  return out;
}

// Strides that let `shape` view memory laid out as old_shape/old_strides, if
// any (the chunk-matching rule of PyTorch's computeStride).
std::optional<Strides> view_strides(
    const Shape& old_shape, const Strides& old_strides, const Shape& shape) {
  if (numel(shape) == 0 || old_shape.empty())
    return contiguous_strides(shape);
  Strides strides(shape.size());
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    const auto ud = static_cast<size_t>(d);
    tensor_numel *= old_shape[ud];
    if (d == 0 || (old_shape[ud - 1] != 1 &&
                   old_strides[ud - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel ||
                             shape[static_cast<size_t>(view_d)] == 1)) {
        strides[static_cast<size_t>(view_d)] = view_numel * chunk_base;
        view_numel *= shape[static_cast<size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel)
        return std::nullopt;
      if (d > 0) {
        chunk_base = old_strides[ud - 1];
        tensor_numel = view_numel = 1;
      }
    }
  }
  if (view_d != -1)
    return std::nullopt;
  return strides;
}

Tensor reshape_impl(const Tensor& x, const Shape& requested, bool allow_copy) {
  const char* op = allow_copy ? "reshape" : "view";
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  const Shape shape = infer_shape(requested, x.numel(), op, x.shape());
  Tensor out;
  if (auto strides = view_strides(x.shape(), x.strides(), shape)) {
    out = make_view(x, shape, *strides, x.offset());
  } else {
    VOXGRAD_CHECK(
        allow_copy, "view: shape ", shape_str(shape),
        " is not compatible with the input's strides (input ",
        shape_str(x.shape()), ", strides ", shape_str(x.strides()),
        "); use reshape(), which copies");
    const Tensor c = raw_copy(x);
    out = make_view(c, shape, contiguous_strides(shape), 0);
  }
  const Shape in_shape = x.shape();
  return record(
      Op::reshape, out, {x}, {},
      [in_shape](const BackwardArgs& g) -> TensorList {
        return {g.grad.reshape(in_shape)};
      });
}

}  // namespace

Tensor Tensor::reshape(const Shape& shape) const {
  return reshape_impl(*this, shape, true);
}

Tensor Tensor::view(const Shape& shape) const {
  return reshape_impl(*this, shape, false);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  const int64_t n = dim();
  VOXGRAD_CHECK(
      static_cast<int64_t>(dims.size()) == n, "permute: got ", dims.size(),
      " axes for a ", n, "-d tensor ", shape_str(shape()));
  std::vector<int64_t> perm(dims.size()), inverse(dims.size(), -1);
  Shape s(dims.size());
  Strides st(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = normalize_axis(dims[i], n, "permute");
    const auto p = static_cast<size_t>(perm[i]);
    VOXGRAD_CHECK(
        inverse[p] < 0, "permute: axis ", dims[i], " repeats in ",
        shape_str(dims));
    inverse[p] = static_cast<int64_t>(i);
    s[i] = shape()[p];
    st[i] = strides()[p];
  }
  return record(
      Op::permute, make_view(*this, s, st, offset()), {*this}, {},
      [inverse](const BackwardArgs& g) -> TensorList {
        return {g.grad.permute(inverse)};
      });
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> dims(static_cast<size_t>(dim()));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(
      dims[static_cast<size_t>(normalize_axis(a, dim(), "transpose"))],
      dims[static_cast<size_t>(normalize_axis(b, dim(), "transpose"))]);
  return permute(dims);
}

Tensor Tensor::expand(const Shape& shape) const {
  const size_t n = shape.size(), nd = static_cast<size_t>(dim());
  VOXGRAD_CHECK(
      n >= nd, "expand: target ", shape_str(shape),
      " has fewer axes than the input ", shape_str(this->shape()));
  Shape s(n);
  Strides st(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const bool existing = i >= n - nd;
    const int64_t old = existing ? this->shape()[i - (n - nd)] : 1;
    s[i] = shape[i] == -1 && existing ? old : shape[i];
    VOXGRAD_CHECK(
        s[i] >= 0 && (old == s[i] || old == 1), "expand: cannot expand ",
        shape_str(this->shape()), " to ", shape_str(shape), " (axis ", i,
        ": only extents of 1 grow, and -1 keeps an existing extent)");
    if (existing && old == s[i])
      st[i] = strides()[i - (n - nd)];
  }
  checked::numel(s, "expand");  // a view, but its element count must exist
  // The gradient comes back in the expanded shape; the engine sums it down.
  return record(
      Op::expand, make_view(*this, s, st, offset()), {*this}, {},
      [](const BackwardArgs& g) -> TensorList { return {g.grad}; });
}

Tensor Tensor::slice(
    int64_t axis, int64_t start, int64_t end, int64_t step) const {
  const auto a = static_cast<size_t>(normalize_axis(axis, dim(), "slice"));
  VOXGRAD_CHECK(step > 0, "slice: step must be > 0 (got ", step, ")");
  const int64_t n = shape()[a];
  auto clampi = [n](int64_t i) {
    return std::clamp(i < 0 ? i + n : i, int64_t{0}, n);
  };
  start = clampi(start);
  end = std::max(start, clampi(end));
  Shape s = shape();
  Strides st = strides();
  s[a] = checked::ceil_div(end - start, step);
  // With at most one element along the axis its stride is never used, and
  // stride * step may not even fit (slice(0, 0, 10, INT64_MAX)).
  if (s[a] > 1)
    st[a] = checked::mul(st[a], step, "slice", "the stride of the view");
  const Shape in_shape = shape();
  return record(
      Op::slice, make_view(*this, s, st, offset() + start * strides()[a]),
      {*this}, {},
      [in_shape, a, start, step](const BackwardArgs& g) -> TensorList {
        return {slice_backward(
            g.grad, in_shape, static_cast<int64_t>(a), start, step)};
      });
}

Tensor slice_backward(
    const Tensor& grad,
    const Shape& shape,
    int64_t axis,
    int64_t start,
    int64_t step) {
  const auto a = static_cast<size_t>(normalize_axis(
      axis, static_cast<int64_t>(shape.size()), "slice_backward"));
  Tensor out = zeros(shape, grad.dtype());
  const int64_t len = grad.shape()[a];
  Tensor region = out.detach().slice(
      static_cast<int64_t>(a), start, start + (len - 1) * step + 1, step);
  VOXGRAD_CHECK(
      region.shape() == grad.shape(), "slice_backward: gradient ",
      shape_str(grad.shape()), " does not fit ", shape_str(shape), " at axis ",
      a, ", start ", start, ", step ", step);
  kernels::copy(grad, region);
  return record(
      Op::slice_backward, out, {grad}, {},
      [a, start, step, len](const BackwardArgs& g) -> TensorList {
        return {g.grad.slice(
            static_cast<int64_t>(a), start, start + (len - 1) * step + 1,
            step)};
      });
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  const int64_t a = normalize_axis(axis, dim(), "select");
  const int64_t n = shape()[static_cast<size_t>(a)];
  VOXGRAD_CHECK(
      index >= -n && index < n, "select: index ", index,
      " is out of range for axis ", a, " of extent ", n);
  if (index < 0)
    index += n;
  return slice(a, index, index + 1).squeeze(a);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  const int64_t a = normalize_axis(axis, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + a, 1);
  return reshape(s);
}

Tensor Tensor::squeeze(int64_t axis) const {
  const int64_t a = normalize_axis(axis, dim(), "squeeze");
  if (shape()[static_cast<size_t>(a)] != 1)
    return *this;
  Shape s = shape();
  s.erase(s.begin() + a);
  return reshape(s);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0)
    return reshape({1});
  const int64_t s0 = normalize_axis(start, dim(), "flatten");
  const int64_t s1 = normalize_axis(end, dim(), "flatten");
  VOXGRAD_CHECK(
      s0 <= s1, "flatten: start axis ", start, " must not come after end axis ",
      end);
  Shape s(shape().begin(), shape().begin() + s0);
  int64_t n = 1;
  for (int64_t i = s0; i <= s1; ++i)
    n *= shape()[static_cast<size_t>(i)];
  s.push_back(n);
  s.insert(s.end(), shape().begin() + s1 + 1, shape().end());
  return reshape(s);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous())
    return *this;
  return record(
      Op::contiguous, raw_copy(*this), {*this}, {},
      [](const BackwardArgs& g) -> TensorList { return {g.grad}; });
}

Tensor Tensor::clone() const {
  return record(
      Op::clone, raw_copy(*this), {*this}, {},
      [](const BackwardArgs& g) -> TensorList { return {g.grad}; });
}

Tensor Tensor::to(Dtype dtype) const {
  if (dtype == this->dtype())
    return *this;
  Tensor out = empty(shape(), dtype);
  kernels::copy(*this, out);
  const Dtype from = this->dtype();
  return record(
      Op::to_dtype, out, {*this}, {},
      [from](const BackwardArgs& g) -> TensorList {
        return {g.grad.to(from)};
      });
}

Tensor cat(const TensorList& tensors, int64_t axis) {
  VOXGRAD_CHECK(!tensors.empty(), "cat: needs at least one tensor");
  const Tensor& first = tensors[0];
  VOXGRAD_CHECK(first.defined(), "cat: tensor 0 is undefined");
  const auto a = static_cast<size_t>(normalize_axis(axis, first.dim(), "cat"));
  Shape shape = first.shape();
  shape[a] = 0;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    VOXGRAD_CHECK(t.defined(), "cat: tensor ", i, " is undefined");
    VOXGRAD_CHECK(
        t.dtype() == first.dtype(), "cat: tensor ", i, " is ",
        dtype_name(t.dtype()), " but tensor 0 is ", dtype_name(first.dtype()));
    bool same = t.dim() == first.dim();
    for (size_t d = 0; same && d < shape.size(); ++d)
      same = d == a || t.shape()[d] == first.shape()[d];
    VOXGRAD_CHECK(
        same, "cat: tensor ", i, " has shape ", shape_str(t.shape()),
        " but tensor 0 has ", shape_str(first.shape()),
        "; all extents except axis ", a, " must match");
    sizes.push_back(t.shape()[a]);
    shape[a] = checked::add(shape[a], t.shape()[a], "cat", "the joined extent");
  }
  Tensor out = empty(shape, first.dtype());
  int64_t at = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    kernels::copy(
        tensors[i],
        out.detach().slice(static_cast<int64_t>(a), at, at + sizes[i]));
    at += sizes[i];
  }
  return record(
      Op::cat, out, tensors, {},
      [a, sizes](const BackwardArgs& g) -> TensorList {
        TensorList grads;
        int64_t pos = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
          grads.push_back(
              g.needs[i]
                  ? g.grad.slice(static_cast<int64_t>(a), pos, pos + sizes[i])
                  : Tensor());
          pos += sizes[i];
        }
        return grads;
      });
}

Tensor stack(const TensorList& tensors, int64_t axis) {
  VOXGRAD_CHECK(!tensors.empty(), "stack: needs at least one tensor");
  TensorList expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    VOXGRAD_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    VOXGRAD_CHECK(
        tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i,
        " has shape ", shape_str(tensors[i].shape()), " but tensor 0 has ",
        shape_str(tensors[0].shape()), "; all must match");
    expanded.push_back(tensors[i].unsqueeze(axis));
  }
  return cat(expanded, axis);
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  VOXGRAD_CHECK(x.defined(), "pad: the input is undefined");
  VOXGRAD_CHECK(
      pads.size() % 2 == 0 && static_cast<int64_t>(pads.size()) <= 2 * x.dim(),
      "pad: needs an even number of amounts, at most 2 per axis (got ",
      pads.size(), " for a ", x.dim(), "-d tensor)");
  Shape shape = x.shape();
  Tensor src = x.detach();
  std::vector<std::pair<size_t, int64_t>> dst_starts;
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    const size_t a = shape.size() - 1 - k;
    const int64_t before = pads[2 * k], after = pads[2 * k + 1];
    shape[a] = checked::add(
        shape[a], checked::add(before, after, "pad", "the padding amount"),
        "pad", "the padded extent");
    VOXGRAD_CHECK(
        shape[a] >= 0, "pad: padding (", before, ", ", after,
        ") leaves a negative extent on axis ", a, " of ", shape_str(x.shape()));
    // Negative amounts crop the source; positive ones offset the destination.
    const int64_t lo = std::max<int64_t>(0, -before);
    const int64_t hi =
        std::max(lo, x.shape()[a] - std::max<int64_t>(0, -after));
    src = src.slice(static_cast<int64_t>(a), lo, hi);
    dst_starts.push_back({a, std::max<int64_t>(0, before)});
  }
  Tensor out = full(shape, value, x.dtype());
  Tensor region = out.detach();
  for (auto [a, start] : dst_starts)
    region =
        region.slice(static_cast<int64_t>(a), start, start + src.shape()[a]);
  if (src.numel())
    kernels::copy(src, region);
  std::vector<int64_t> inverse(pads);
  for (int64_t& p : inverse)
    p = -p;
  return record(
      Op::pad, out, {x}, {}, [inverse](const BackwardArgs& g) -> TensorList {
        return {pad(g.grad, inverse, 0.0)};
      });
}

}  // namespace voxgrad
