// The three conv ops and their backward, each written with the other two
// (NOTE [ Conv adjointness ] in voxgrad/core/kernels/conv3d.hpp):
//
// clang-format off
//   conv3d_op(x, w)            y  = A_w x     grad G: dx = A_wᵀ G,  dw = W(x, G)
//   conv_transpose3d_op(u, w)  z  = A_wᵀ u    grad G: du = A_w G,   dw = W(G, u)
//   conv3d_weight_op(x, dy)    dw = W(x, dy)  grad G: dx = A_Gᵀ dy, ddy = A_G x
// clang-format on
//
// where W(a, b) = ∂<A_w a, b>/∂w is bilinear. The last line holds because
// <W(x, dy), G> = <A_G x, dy>. Bias is added by the forward kernels (their
// epilogue) and its gradient is the sum of G over batch and space.
//
// A padding mode other than zeros makes A_w = A_{w,0} P, with P the padding
// map and A_{w,0} the conv with padding 0 (NOTE [ Conv padding modes ] in
// voxgrad/core/kernels/padded_conv.hpp): the table holds as written, with
// A_wᵀ = Pᵀ A_{w,0}ᵀ and W(x, G) = W_0(P x, G) on the padding-0 geometry;
// P x is the recorded pad op, so double backward reaches x through it.

#include "voxgrad/autograd/conv_ops.hpp"

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/kernels/padded_conv.hpp"

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
  require_floating(t.dtype(), op, what);
  VOXGRAD_CHECK(
      t.numel() == want, op, ": ", what, " has ", t.numel(),
      " elements, the geometry ", g.str(), " needs ", want, " (shape ",
      shape_str(t.shape()), ")");
}

Tensor bias_grad(const Tensor& grad, const Tensor& b) {
  return grad.sum({0, 2, 3, 4}, true).reshape(b.shape());
}

/// F.pad's amounts for g's padding on both sides: {pw, pw, ph, ph, pd, pd}.
std::vector<int64_t> pads_of(const ConvGeometry3d& g) {
  return {g.padding[2], g.padding[2], g.padding[1],
          g.padding[1], g.padding[0], g.padding[0]};
}

/// Conv3d's weight gradient W(P x, dy) on the padding-0 geometry (W(x, dy)
/// on g for zeros), with P x recorded so that its own gradient reaches x.
Tensor weight_grad(
    const Tensor& x,
    const Tensor& dy,
    const ConvGeometry3d& g,
    PaddingMode mode,
    const Shape& w_shape) {
  if (mode == PaddingMode::Zeros)
    return conv3d_weight_op(x, dy, g, w_shape);
  return conv3d_weight_op(
      pad(x.reshape(x_shape(g)), pads_of(g), mode), dy,
      kernels::zero_padding_geometry(g), w_shape);
}

}  // namespace

Tensor conv3d_op(
    const Tensor& x,
    const Tensor& w,
    const Tensor& b,
    const ConvGeometry3d& g,
    PaddingMode mode) {
  g.validate("conv3d");
  check_numel(x, g.x_numel(), "conv3d", "input", g);
  check_numel(w, g.w_numel(), "conv3d", "weight", g);
  if (b.defined())
    check_numel(b, g.C_out, "conv3d", "bias", g);
  Tensor y = empty(y_shape(g), x.dtype());
  const Tensor xc = dense(x), wc = dense(w);
  const Tensor bc = b.defined() ? dense(b) : Tensor();
  dispatch(x.dtype(), [&]<class T>() {
    kernels::conv3d_fwd_padded<T>(
        g, mode, xc.data<T>(), wc.data<T>(), y.mutable_data<T>(),
        bc.defined() ? bc.data<T>() : nullptr);
  });
  return record(
      Op::conv3d, y, {x, w, b}, {x, w},
      [x, w, b, g, mode](const BackwardArgs& a) -> TensorList {
        return {
            a.needs[0]
                ? conv_transpose3d_op(a.grad, w, {}, g, mode).reshape(x.shape())
                : Tensor(),
            a.needs[1] ? weight_grad(x, a.grad, g, mode, w.shape()) : Tensor(),
            a.needs[2] ? bias_grad(a.grad, b) : Tensor()};
      });
}

Tensor conv_transpose3d_op(
    const Tensor& u,
    const Tensor& w,
    const Tensor& b,
    const ConvGeometry3d& g,
    PaddingMode mode) {
  g.validate("conv_transpose3d");
  check_numel(u, g.y_numel(), "conv_transpose3d", "input", g);
  check_numel(w, g.w_numel(), "conv_transpose3d", "weight", g);
  if (b.defined())
    check_numel(b, g.C_in, "conv_transpose3d", "bias", g);
  Tensor z = empty(x_shape(g), u.dtype());
  const Tensor uc = dense(u), wc = dense(w);
  const Tensor bc = b.defined() ? dense(b) : Tensor();
  dispatch(u.dtype(), [&]<class T>() {
    kernels::conv3d_bwd_data_padded<T>(
        g, mode, uc.data<T>(), wc.data<T>(), z.mutable_data<T>(),
        bc.defined() ? bc.data<T>() : nullptr);
  });
  return record(
      Op::conv_transpose3d, z, {u, w, b}, {u, w},
      [u, w, b, g, mode](const BackwardArgs& a) -> TensorList {
        // The conv this op is the transpose of, A_0 P: pad once, for both
        // the input and the weight gradient.
        Tensor gp = a.grad;
        ConvGeometry3d gc = g;
        if (mode != PaddingMode::Zeros && (a.needs[0] || a.needs[1])) {
          gp = pad(a.grad.reshape(x_shape(g)), pads_of(g), mode);
          gc = kernels::zero_padding_geometry(g);
        }
        return {
            a.needs[0] ? conv3d_op(gp, w, {}, gc).reshape(u.shape()) : Tensor(),
            a.needs[1] ? conv3d_weight_op(gp, u, gc, w.shape()) : Tensor(),
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
