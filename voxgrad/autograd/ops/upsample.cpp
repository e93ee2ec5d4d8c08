// 3-D nearest and trilinear upsampling and their adjoints, forward and
// backward side by side; the kernel is voxgrad/core/kernels/resample3d. See
// NOTE [ Upsampling as separable linear maps ] in voxgrad/autograd/nn_ops.hpp.

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/core/kernels/resample3d.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// Resamples src (N, C, spatial) to dst_shape (N, C, spatial'). Forward: the
/// map from src's extents to dst's; adjoint: the transpose of the map from
/// dst's extents to src's.
Tensor run_map(
    const Tensor& src,
    const Shape& dst_shape,
    kernels::ResampleMode mode,
    bool align_corners,
    const Scales3& scales,
    bool adjoint) {
  const Tensor s = src.detach().contiguous();
  Tensor dst = empty(dst_shape, src.dtype());
  dispatch(src.dtype(), [&]<class T>() {
    kernels::resample3d<T>(
        s.data<T>(), dst.mutable_data<T>(), dst_shape[0] * dst_shape[1],
        {s.shape()[2], s.shape()[3], s.shape()[4]},
        {dst_shape[2], dst_shape[3], dst_shape[4]}, mode, align_corners, scales,
        adjoint);
  });
  return dst;
}

Size3 spatial(const Shape& s) {
  return {s[2], s[3], s[4]};
}

Shape with_spatial(const Shape& s, const Size3& sp) {
  return {s[0], s[1], sp[0], sp[1], sp[2]};
}

void check_size(const Size3& size, const char* op, const char* what) {
  VOXGRAD_CHECK(
      size[0] > 0 && size[1] > 0 && size[2] > 0, op, ": every ", what,
      " extent must be >= 1 (got ", shape_str({size[0], size[1], size[2]}),
      ")");
}

void check_input(const Tensor& x, const char* op, const char* name) {
  VOXGRAD_CHECK(x.defined(), op, ": ", name, " is undefined");
  VOXGRAD_CHECK(
      x.dim() == 5, op, ": expected a 5-D ", name, " (N, C, D, H, W), got ",
      shape_str(x.shape()));
  check_size(spatial(x.shape()), op, name);
}

/// grad (N, C, out) of an op whose input had `input_size`.
void check_backward(
    const Tensor& grad, const Shape& input_size, const char* op) {
  check_input(grad, op, "grad");
  VOXGRAD_CHECK(
      input_size.size() == 5 && input_size[0] == grad.size(0) &&
          input_size[1] == grad.size(1),
      op, ": input_size must be 5-D with grad's N and C (got input_size ",
      shape_str(input_size), ", grad ", shape_str(grad.shape()), ")");
  check_size(
      {input_size[2], input_size[3], input_size[4]}, op, "input_size spatial");
}

}  // namespace

Tensor upsample_nearest3d(
    const Tensor& x, const Size3& out_size, const Scales3& scales) {
  check_input(x, "upsample_nearest3d", "input");
  check_size(out_size, "upsample_nearest3d", "output");
  const Shape in_shape = x.shape();
  return record(
      Op::upsample_nearest3d,
      run_map(
          x, with_spatial(in_shape, out_size), kernels::ResampleMode::Nearest,
          false, scales, false),
      {x}, {}, [in_shape, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_nearest3d_backward(g.grad, in_shape, scales)};
      });
}

Tensor upsample_nearest3d_backward(
    const Tensor& grad, const Shape& input_size, const Scales3& scales) {
  check_backward(grad, input_size, "upsample_nearest3d_backward");
  const Size3 out_size = spatial(grad.shape());
  return record(
      Op::upsample_nearest3d_backward,
      run_map(
          grad, input_size, kernels::ResampleMode::Nearest, false, scales,
          true),
      {grad}, {}, [out_size, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_nearest3d(g.grad, out_size, scales)};
      });
}

Tensor upsample_trilinear3d(
    const Tensor& x,
    const Size3& out_size,
    bool align_corners,
    const Scales3& scales) {
  check_input(x, "upsample_trilinear3d", "input");
  check_size(out_size, "upsample_trilinear3d", "output");
  const Shape in_shape = x.shape();
  return record(
      Op::upsample_trilinear3d,
      run_map(
          x, with_spatial(in_shape, out_size), kernels::ResampleMode::Trilinear,
          align_corners, scales, false),
      {x}, {},
      [in_shape, align_corners, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_trilinear3d_backward(
            g.grad, in_shape, align_corners, scales)};
      });
}

Tensor upsample_trilinear3d_backward(
    const Tensor& grad,
    const Shape& input_size,
    bool align_corners,
    const Scales3& scales) {
  check_backward(grad, input_size, "upsample_trilinear3d_backward");
  const Size3 out_size = spatial(grad.shape());
  return record(
      Op::upsample_trilinear3d_backward,
      run_map(
          grad, input_size, kernels::ResampleMode::Trilinear, align_corners,
          scales, true),
      {grad}, {},
      [out_size, align_corners, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_trilinear3d(g.grad, out_size, align_corners, scales)};
      });
}

}  // namespace voxgrad
