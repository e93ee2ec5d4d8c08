// The three conv ops and their backward, each written with the other two
// (NOTE [ Conv adjointness ] in voxgrad/core/kernels/conv3d.hpp):
//
//   conv3d_op(x, w)            y  = A_w x     grad G: dx = A_wᵀ G,  dw = W(x,
//   G) conv_transpose3d_op(u, w)  z  = A_wᵀ u    grad G: du = A_w G,   dw =
//   W(G, u) conv3d_weight_op(x, dy)    dw = W(x, dy)  grad G: dx = A_Gᵀ dy, ddy
//   = A_G x
//
// where W(a, b) = ∂<A_w a, b>/∂w is bilinear. The last line holds because
// <W(x, dy), G> = <A_G x, dy>. Bias is added by the forward kernels (their
// epilogue) and its gradient is the sum of G over batch and space.

#include "voxgrad/autograd/conv_ops.hpp"

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"

namespace voxgrad::autograd {
namespace {

/// The kernels read plain contiguous buffers; the recorded inputs stay as
/// the caller gave them.
Tensor dense(const Tensor& t) {
  return t.detach().contiguous();
}

Shape x_shape(const ConvGeometry3d& g) {
  return {g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
}
Shape y_shape(const ConvGeometry3d& g) {
  return {g.N, g.C_out, g.out[0], g.out[1], g.out[2]};
}

void check_numel(
    const Tensor& t,
    int64_t want,
    const char* op,
    const char* what,
    const ConvGeometry3d& g) {
  VOXGRAD_ASSERT(t.defined());
  VOXGRAD_CHECK(
      t.numel() == want, op, ": ", what, " has ", t.numel(),
      " elements, the geometry ", g.str(), " needs ", want, " (shape ",
      shape_str(t.shape()), ")");
}

Tensor bias_grad(const Tensor& grad, const Tensor& b) {
  return grad.sum({0, 2, 3, 4}, true).reshape(b.shape());
}

}  // namespace

Tensor conv3d_op(
    const Tensor& x,
    const Tensor& w,
    const Tensor& b,
    const ConvGeometry3d& g) {
  g.validate("conv3d");
  check_numel(x, g.x_numel(), "conv3d", "input", g);
  check_numel(w, g.w_numel(), "conv3d", "weight", g);
  if (b.defined())
    check_numel(b, g.C_out, "conv3d", "bias", g);
  Tensor y = empty(y_shape(g), x.dtype());
  const Tensor xc = dense(x), wc = dense(w);
  const Tensor bc = b.defined() ? dense(b) : Tensor();
  dispatch(x.dtype(), [&]<class T>() {
    kernels::conv3d_fwd<T>(
        g, xc.data<T>(), wc.data<T>(), y.mutable_data<T>(),
        bc.defined() ? bc.data<T>() : nullptr);
  });
  return record(
      Op::conv3d, y, {x, w, b}, {x, w},
      [x, w, b, g](const BackwardArgs& a) -> TensorList {
        return {
            a.needs[0]
                ? conv_transpose3d_op(a.grad, w, {}, g).reshape(x.shape())
                : Tensor(),
            a.needs[1] ? conv3d_weight_op(x, a.grad, g, w.shape()) : Tensor(),
            a.needs[2] ? bias_grad(a.grad, b) : Tensor()};
      });
}

Tensor conv_transpose3d_op(
    const Tensor& u,
    const Tensor& w,
    const Tensor& b,
    const ConvGeometry3d& g) {
  g.validate("conv_transpose3d");
  check_numel(u, g.y_numel(), "conv_transpose3d", "input", g);
  check_numel(w, g.w_numel(), "conv_transpose3d", "weight", g);
  if (b.defined())
    check_numel(b, g.C_in, "conv_transpose3d", "bias", g);
  Tensor z = empty(x_shape(g), u.dtype());
  const Tensor uc = dense(u), wc = dense(w);
  const Tensor bc = b.defined() ? dense(b) : Tensor();
  dispatch(u.dtype(), [&]<class T>() {
    kernels::conv3d_bwd_data<T>(
        g, uc.data<T>(), wc.data<T>(), z.mutable_data<T>(),
        bc.defined() ? bc.data<T>() : nullptr);
  });
  return record(
      Op::conv_transpose3d, z, {u, w, b}, {u, w},
      [u, w, b, g](const BackwardArgs& a) -> TensorList {
        return {
            a.needs[0] ? conv3d_op(a.grad, w, {}, g).reshape(u.shape())
                       : Tensor(),
            a.needs[1] ? conv3d_weight_op(a.grad, u, g, w.shape()) : Tensor(),
            a.needs[2] ? bias_grad(a.grad, b) : Tensor()};
      });
}

Tensor conv3d_weight_op(
    const Tensor& x,
    const Tensor& dy,
    const ConvGeometry3d& g,
    const Shape& w_shape) {
  g.validate("conv3d_weight");
  check_numel(x, g.x_numel(), "conv3d_weight", "input", g);
  check_numel(dy, g.y_numel(), "conv3d_weight", "output gradient", g);
  VOXGRAD_CHECK(
      numel(w_shape) == g.w_numel(), "conv3d_weight: weight shape ",
      shape_str(w_shape), " does not fit the geometry ", g.str());
  Tensor dw = empty(w_shape, x.dtype());
  const Tensor xc = dense(x), dyc = dense(dy);
  dispatch(x.dtype(), [&]<class T>() {
    kernels::conv3d_bwd_weight<T>(
        g, xc.data<T>(), dyc.data<T>(), dw.mutable_data<T>());
  });
  return record(
      Op::conv3d_weight, dw, {x, dy}, {x, dy},
      [x, dy, g](const BackwardArgs& a) -> TensorList {
        return {
            a.needs[0]
                ? conv_transpose3d_op(dy, a.grad, {}, g).reshape(x.shape())
                : Tensor(),
            a.needs[1] ? conv3d_op(x, a.grad, {}, g).reshape(dy.shape())
                       : Tensor()};
      });
}

}  // namespace voxgrad::autograd
