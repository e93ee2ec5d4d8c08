// 3-D pooling ops, forward and backward side by side (voxgrad/autograd/
// pool_ops.hpp). Average pooling and its adjoint are each other's backward;
// so are max pooling's scatter-add and gather at its indices, and max
// unpooling's scatter and last-writer gather.

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/autograd/pool_ops.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

kernels::PoolWindows3d PoolSpec3d::windows(int64_t planes) const {
  kernels::PoolWindows3d w;
  w.planes = planes;
  for (size_t a = 0; a < 3; ++a) {
    w.axis[a] = adaptive ? kernels::adaptive_axis(in[a], out[a])
                         : kernels::pool_axis(
                               in[a], out[a], kernel[a], stride[a], padding[a],
                               dilation[a], count_include_pad);
  }
  return w;
}

namespace {

Shape with_spatial(const Tensor& t, const std::array<int64_t, 3>& s) {
  return {t.size(0), t.size(1), s[0], s[1], s[2]};
}

void check_5d(
    const Tensor& t,
    const std::array<int64_t, 3>& spatial,
    const char* op,
    const char* what) {
  VOXGRAD_CHECK(t.defined(), op, ": ", what, " is undefined");
  require_floating(t.dtype(), op, what);
  VOXGRAD_CHECK(
      t.dim() == 5 && t.size(2) == spatial[0] && t.size(3) == spatial[1] &&
          t.size(4) == spatial[2],
      op, ": expected ", what, " (N, C, ", spatial[0], ", ", spatial[1], ", ",
      spatial[2], "), got ", shape_str(t.shape()));
}

Op avg_op(const PoolSpec3d& s, bool backward) {
  if (s.adaptive)
    return backward ? Op::adaptive_avg_pool3d_backward
                    : Op::adaptive_avg_pool3d;
  return backward ? Op::avg_pool3d_backward : Op::avg_pool3d;
}

/// Throws unless `indices` holds one index per element of an (N, C,
/// spec.out) tensor whose N and C are those of t (the kernels check each
/// index's range).
void check_indices(
    const PoolIndices& indices,
    const Tensor& t,
    const PoolSpec3d& spec,
    const char* op) {
  const int64_t want =
      t.size(0) * t.size(1) * spec.out[0] * spec.out[1] * spec.out[2];
  VOXGRAD_CHECK(
      indices && static_cast<int64_t>(indices->size()) == want, op,
      ": expected ", want, " indices (one per pooled element of ",
      shape_str(with_spatial(t, spec.out)), "), got ",
      indices ? static_cast<int64_t>(indices->size()) : int64_t{0});
}

}  // namespace

Tensor avg_pool3d_op(const Tensor& x, const PoolSpec3d& spec) {
  const char* op = spec.adaptive ? "adaptive_avg_pool3d" : "avg_pool3d";
  check_5d(x, spec.in, op, "input");
  const Tensor xc = x.detach().contiguous();
  Tensor y = empty(with_spatial(x, spec.out), x.dtype());
  if (y.numel() > 0) {
    const auto w = spec.windows(x.size(0) * x.size(1));
    dispatch(x.dtype(), [&]<class T>() {
      kernels::avg_pool3d_fwd<T>(
          w, xc.data<T>(), y.mutable_data<T>(), spec.divisor_override);
    });
  }
  return record(
      avg_op(spec, false), y, {x}, {},
      [spec](const BackwardArgs& g) -> TensorList {
        return {avg_pool3d_backward_op(g.grad, spec)};
      });
}

Tensor avg_pool3d_backward_op(const Tensor& grad, const PoolSpec3d& spec) {
  const char* op =
      spec.adaptive ? "adaptive_avg_pool3d_backward" : "avg_pool3d_backward";
  check_5d(grad, spec.out, op, "grad");
  const Tensor gc = grad.detach().contiguous();
  Tensor dx = zeros(with_spatial(grad, spec.in), grad.dtype());
  if (gc.numel() > 0) {
    const auto w = spec.windows(grad.size(0) * grad.size(1));
    dispatch(grad.dtype(), [&]<class T>() {
      kernels::avg_pool3d_bwd<T>(
          w, gc.data<T>(), dx.mutable_data<T>(), spec.divisor_override);
    });
  }
  return record(
      avg_op(spec, true), dx, {grad}, {},
      [spec](const BackwardArgs& g) -> TensorList {
        return {avg_pool3d_op(g.grad, spec)};
      });
}

Tensor max_pool3d_op(
    const Tensor& x, const PoolSpec3d& spec, PoolIndices* indices) {
  const char* op = spec.adaptive ? "adaptive_max_pool3d" : "max_pool3d";
  check_5d(x, spec.in, op, "input");
  const Tensor xc = x.detach().contiguous();
  Tensor y = empty(with_spatial(x, spec.out), x.dtype());
  // The indices are only made when someone reads them: the kernel is
  // faster without (no index bookkeeping in the column reduction).
  const bool keep =
      indices || (autograd::GradMode::is_enabled() && x.requires_grad());
  auto idx = std::make_shared<std::vector<int64_t>>(
      keep ? static_cast<size_t>(y.numel()) : 0);
  if (y.numel() > 0) {
    const auto w = spec.windows(x.size(0) * x.size(1));
    dispatch(x.dtype(), [&]<class T>() {
      kernels::max_pool3d_fwd<T>(
          w, xc.data<T>(), y.mutable_data<T>(), keep ? idx->data() : nullptr);
    });
  }
  const PoolIndices kept = std::move(idx);
  if (indices)
    *indices = kept;
  // Nothing saved: the backward reads only the indices, which no in-place
  // write to x or y can change (PyTorch's backward reads them alone too).
  return record(
      spec.adaptive ? Op::adaptive_max_pool3d : Op::max_pool3d, y, {x}, {},
      [kept, spec](const BackwardArgs& g) -> TensorList {
        return {max_pool3d_backward_op(g.grad, kept, spec)};
      });
}

Tensor max_pool3d_backward_op(
    const Tensor& grad, const PoolIndices& indices, const PoolSpec3d& spec) {
  constexpr const char* op = "max_pool3d_backward";
  check_5d(grad, spec.out, op, "grad");
  check_indices(indices, grad, spec, op);
  const Tensor gc = grad.detach().contiguous();
  Tensor dx = zeros(with_spatial(grad, spec.in), grad.dtype());
  const int64_t planes = grad.size(0) * grad.size(1);
  const int64_t small = spec.out[0] * spec.out[1] * spec.out[2];
  const int64_t large = spec.in[0] * spec.in[1] * spec.in[2];
  if (planes * small > 0) {
    dispatch(grad.dtype(), [&]<class T>() {
      kernels::index_scatter<T>(
          planes, small, large, gc.data<T>(), indices->data(),
          dx.mutable_data<T>(), /*accumulate=*/true);
    });
  }
  return record(
      Op::max_pool3d_backward, dx, {grad}, {},
      [indices, spec](const BackwardArgs& g) -> TensorList {
        return {max_pool3d_gather_op(g.grad, indices, spec)};
      });
}

Tensor max_pool3d_gather_op(
    const Tensor& x, const PoolIndices& indices, const PoolSpec3d& spec) {
  constexpr const char* op = "max_pool3d_gather";
  check_5d(x, spec.in, op, "input");
  check_indices(indices, x, spec, op);
  const Tensor xc = x.detach().contiguous();
  Tensor y = empty(with_spatial(x, spec.out), x.dtype());
  const int64_t planes = x.size(0) * x.size(1);
  const int64_t small = spec.out[0] * spec.out[1] * spec.out[2];
  const int64_t large = spec.in[0] * spec.in[1] * spec.in[2];
  if (planes * small > 0) {
    dispatch(x.dtype(), [&]<class T>() {
      kernels::index_gather<T>(
          planes, small, large, xc.data<T>(), indices->data(),
          y.mutable_data<T>());
    });
  }
  return record(
      Op::max_pool3d_gather, y, {x}, {},
      [indices, spec](const BackwardArgs& g) -> TensorList {
        return {max_pool3d_backward_op(g.grad, indices, spec)};
      });
}

Tensor pool_indices_tensor(const PoolIndices& indices, const Shape& shape) {
  VOXGRAD_ASSERT(
      indices && static_cast<int64_t>(indices->size()) == numel(shape));
  if (indices->empty())  // an empty batch: no data pointer to copy from
    return empty(shape, kInt64);
  return from_blob(indices->data(), shape);
}

namespace {

/// Throws unless t is a defined floating (N, C, D, H, W) tensor with one
/// index per element.
void check_unpool_input(
    const Tensor& t,
    const PoolIndices& indices,
    const char* op,
    const char* what) {
  VOXGRAD_CHECK(t.defined(), op, ": ", what, " is undefined");
  require_floating(t.dtype(), op, what);
  VOXGRAD_CHECK(
      t.dim() == 5, op, ": expected ", what, " (N, C, D, H, W), got ",
      shape_str(t.shape()));
  VOXGRAD_CHECK(
      indices && static_cast<int64_t>(indices->size()) == t.numel(), op,
      ": expected ", t.numel(), " indices (one per element of ", what, " ",
      shape_str(t.shape()), "), got ",
      indices ? static_cast<int64_t>(indices->size()) : int64_t{0});
}

}  // namespace

Tensor max_unpool3d_op(
    const Tensor& x,
    const PoolIndices& indices,
    const std::array<int64_t, 3>& out) {
  constexpr const char* op = "max_unpool3d";
  check_unpool_input(x, indices, op, "input");
  const Tensor xc = x.detach().contiguous();
  Tensor y = zeros(with_spatial(x, out), x.dtype());
  const int64_t planes = x.size(0) * x.size(1);
  const int64_t small = x.size(2) * x.size(3) * x.size(4);
  const int64_t large = out[0] * out[1] * out[2];
  const std::array<int64_t, 3> in{x.size(2), x.size(3), x.size(4)};
  if (planes * small > 0) {
    dispatch(x.dtype(), [&]<class T>() {
      kernels::index_scatter<T>(
          planes, small, large, xc.data<T>(), indices->data(),
          y.mutable_data<T>(), /*accumulate=*/false);
    });
  }
  // Nothing saved: the backward reads only the indices.
  return record(
      Op::max_unpool3d, y, {x}, {},
      [indices, in](const BackwardArgs& g) -> TensorList {
        return {max_unpool3d_backward_op(g.grad, indices, in)};
      });
}

Tensor max_unpool3d_backward_op(
    const Tensor& grad,
    const PoolIndices& indices,
    const std::array<int64_t, 3>& out) {
  constexpr const char* op = "max_unpool3d_backward";
  VOXGRAD_CHECK(grad.defined(), op, ": grad is undefined");
  require_floating(grad.dtype(), op, "grad");
  VOXGRAD_CHECK(
      grad.dim() == 5, op, ": expected grad (N, C, D, H, W), got ",
      shape_str(grad.shape()));
  const Tensor gc = grad.detach().contiguous();
  Tensor dx = empty(with_spatial(grad, out), grad.dtype());
  check_unpool_input(dx, indices, op, "the result");
  const int64_t planes = grad.size(0) * grad.size(1);
  const int64_t small = out[0] * out[1] * out[2];
  const int64_t large = grad.size(2) * grad.size(3) * grad.size(4);
  const std::array<int64_t, 3> in{grad.size(2), grad.size(3), grad.size(4)};
  if (planes * small > 0) {
    dispatch(grad.dtype(), [&]<class T>() {
      kernels::index_gather_last<T>(
          planes, small, large, gc.data<T>(), indices->data(),
          dx.mutable_data<T>());
    });
  }
  return record(
      Op::max_unpool3d_backward, dx, {grad}, {},
      [indices, in](const BackwardArgs& g) -> TensorList {
        return {max_unpool3d_op(g.grad, indices, in)};
      });
}

}  // namespace voxgrad
