// pad and pad_adjoint: the padding map P of a mode and its transpose Pᵀ
// (NOTE [ Padding as a linear map ] in voxgrad/core/kernels/pad3d.hpp), a
// mutually adjoint pair: each one's backward is the other. Constant padding
// (any value, any rank, negative amounts crop) keeps its strided-copy
// implementation; reflect / replicate / circular run the pad3d kernels.

#include <algorithm>
#include <string>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/kernels/pad3d.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// F.pad's constant mode, recording nothing: `pads` = {last_before,
/// last_after, second_last_before, ...}; negative amounts crop.
Tensor constant_pad(
    const char* op,
    const Tensor& x,
    const std::vector<int64_t>& pads,
    double value) {
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      pads.size() % 2 == 0 && static_cast<int64_t>(pads.size()) <= 2 * x.dim(),
      op, ": needs an even number of amounts, at most 2 per axis (got ",
      pads.size(), " for a ", x.dim(), "-d tensor)");
  Shape shape = x.shape();
  Tensor src = x.detach();
  std::vector<std::pair<size_t, int64_t>> dst_starts;
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    const size_t a = shape.size() - 1 - k;
    const int64_t before = pads[2 * k], after = pads[2 * k + 1];
    shape[a] = checked::add(
        shape[a], checked::add(before, after, op, "the padding amount"), op,
        "the padded extent");
    VOXGRAD_CHECK(
        shape[a] >= 0, op, ": padding (", before, ", ", after,
        ") leaves a negative extent on axis ", a, " of ", shape_str(x.shape()));
    // Negative amounts crop the source; positive ones offset the destination.
    const int64_t lo = std::max<int64_t>(0, -before);
    const int64_t hi =
        std::max(lo, x.shape()[a] - std::max<int64_t>(0, -after));
    src = src.slice(static_cast<int64_t>(a), lo, hi);
    dst_starts.push_back({a, std::max<int64_t>(0, before)});
  }
  if (x.dtype() == kInt64)
    integral_value(value, op, "value");  // named here, not as full()'s
  Tensor out = full(shape, value, x.dtype());
  Tensor region = out.detach();
  for (auto [a, start] : dst_starts)
    region =
        region.slice(static_cast<int64_t>(a), start, start + src.shape()[a]);
  if (src.numel())
    kernels::copy(src, region);
  return out;
}

std::vector<int64_t> negated(std::vector<int64_t> pads) {
  for (int64_t& p : pads)
    p = checked::sub(0, p, "pad_adjoint", "a padding amount");  // INT64_MIN
  return pads;
}

/// The pad3d geometry of reflect / replicate / circular `pads` on a tensor
/// of `shape`: the padded axes (the last pads.size() / 2) become the
/// trailing (D, H, W), the others multiply into planes. `adjoint`: `shape`
/// is the padded one, and the result's `in` is what pad_adjoint returns.
kernels::Pad3dGeometry mode_geometry(
    const char* op,
    const Shape& shape,
    const std::vector<int64_t>& pads,
    PaddingMode mode,
    bool adjoint) {
  const char* m = padding_mode_name(mode);
  const int64_t k = static_cast<int64_t>(pads.size()) / 2;
  const auto rank = static_cast<int64_t>(shape.size());
  VOXGRAD_CHECK(
      pads.size() % 2 == 0 && k >= 1 && k <= 3, op, ": ", m,
      " padding takes 2, 4 or 6 amounts (last axis first, as F.pad's pad), "
      "got ",
      pads.size());
  // PyTorch's rule: the padded axes and one or two leading (batch, channel)
  // axes, e.g. 6 amounts for a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input.
  VOXGRAD_CHECK(
      rank == k + 1 || rank == k + 2, op, ": ", m, " padding of the last ", k,
      " axes needs a ", k + 1, "-D or ", k + 2, "-D input (got ",
      shape_str(shape), ")");
  kernels::Pad3dGeometry g;
  g.mode = mode;
  g.planes =
      checked::numel(Shape(shape.begin(), shape.begin() + (rank - k)), op);
  g.in = {1, 1, 1};
  for (int64_t j = 0; j < k; ++j) {
    const auto axis = static_cast<size_t>(rank - 1 - j);
    const auto slot = static_cast<size_t>(2 - j);
    const int64_t lo = pads[static_cast<size_t>(2 * j)];
    const int64_t hi = pads[static_cast<size_t>(2 * j + 1)];
    const std::string name = "axis " + std::to_string(axis);
    VOXGRAD_CHECK(
        lo >= 0 && hi >= 0, op, ": ", m, " padding amounts must be >= 0 (got (",
        lo, ", ", hi, ") for ", name, " of ", shape_str(shape),
        "); crop with slice() first");
    int64_t n = shape[axis];
    if (adjoint) {
      n -= checked::add(lo, hi, op, "the padding");
      VOXGRAD_CHECK(
          n >= 0, op, ": the padded size ", shape[axis], " of ", name, " of ",
          shape_str(shape), " is smaller than its padding (", lo, ", ", hi,
          ")");
    }
    check_padding_fits(
        op, mode, adjoint ? name + " of the result" : name, n, lo, hi);
    g.in[slot] = n;
    g.lo[slot] = lo;
    g.hi[slot] = hi;
  }
  (void)g.out();  // fits in int64
  return g;
}

Shape with_trailing(Shape shape, const kernels::Int3& t, size_t k) {
  for (size_t j = 0; j < k; ++j)
    shape[shape.size() - 1 - j] = t[2 - j];
  return shape;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  const Tensor out = constant_pad("pad", x, pads, value);
  return record(
      Op::pad, out, {x}, {}, [pads](const BackwardArgs& g) -> TensorList {
        return {pad_adjoint(g.grad, pads, PaddingMode::Zeros)};
      });
}

Tensor pad(
    const Tensor& x, const std::vector<int64_t>& pads, PaddingMode mode) {
  if (mode == PaddingMode::Zeros)
    return pad(x, pads, 0.0);
  VOXGRAD_CHECK(x.defined(), "pad: the input is undefined");
  require_floating(x.dtype(), "pad", "the input of a non-zeros mode");
  const kernels::Pad3dGeometry g =
      mode_geometry("pad", x.shape(), pads, mode, false);
  Tensor out =
      empty(with_trailing(x.shape(), g.out(), pads.size() / 2), x.dtype());
  const Tensor xc = x.detach().contiguous();
  dispatch(x.dtype(), [&]<class T>() {
    kernels::pad3d<T>(g, xc.data<T>(), out.mutable_data<T>());
  });
  return record(
      Op::pad, out, {x}, {}, [pads, mode](const BackwardArgs& a) -> TensorList {
        return {pad_adjoint(a.grad, pads, mode)};
      });
}

Tensor pad_adjoint(
    const Tensor& g, const std::vector<int64_t>& pads, PaddingMode mode) {
  VOXGRAD_CHECK(g.defined(), "pad_adjoint: the input is undefined");
  require_floating(g.dtype(), "pad_adjoint", "the input");
  Tensor out;
  if (mode == PaddingMode::Zeros) {
    // The transpose of zero padding is the crop.
    out = constant_pad("pad_adjoint", g, negated(pads), 0.0);
  } else {
    const kernels::Pad3dGeometry geom =
        mode_geometry("pad_adjoint", g.shape(), pads, mode, true);
    out = empty(with_trailing(g.shape(), geom.in, pads.size() / 2), g.dtype());
    const Tensor gc = g.detach().contiguous();
    dispatch(g.dtype(), [&]<class T>() {
      kernels::pad3d_adjoint<T>(geom, gc.data<T>(), out.mutable_data<T>());
    });
  }
  return record(
      Op::pad_adjoint, out, {g}, {},
      [pads, mode](const BackwardArgs& a) -> TensorList {
        return {pad(a.grad, pads, mode)};
      });
}

}  // namespace voxgrad
