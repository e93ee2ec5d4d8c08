// 3-D pooling ops, forward and backward side by side (voxgrad/autograd/
// pool_ops.hpp). Average pooling and its adjoint are each other's backward.

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/autograd/pool_ops.hpp"

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

}  // namespace voxgrad
