// softmax, log_softmax and the fused cross-entropy of logits against class
// indices, forward and backward side by side; the kernels are
// voxgrad/core/kernels/softmax.cpp.
//
// NOTE [ Fused backward, differentiable backward ]
// A first-order backward (the usual loss.backward()) runs one fused kernel:
// softmax's dx = y (dy - sum(dy y)), cross-entropy's dx = w_t (p - onehot)
// (with label smoothing: see softmax.hpp), reading the saved output or the
// saved log-sum-exp instead of materialising intermediate tensors. When the
// backward itself is recorded (create_graph, grad mode on inside the
// backward), the same formula is written with differentiable ops instead,
// so that gradients of gradients exist. gradcheck exercises the first,
// gradgradcheck the second (tests/autograd/test_op_list.cpp).

#include "voxgrad/core/kernels/softmax.hpp"

#include <cmath>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/index.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// (outer, C, inner) of `shape` around axis d (a 0-d shape is one class).
kernels::ClassAxis class_axis(const Shape& shape, int64_t d) {
  kernels::ClassAxis s{1, shape.empty() ? 1 : shape[static_cast<size_t>(d)], 1};
  for (size_t i = 0; i < shape.size(); ++i) {
    if (static_cast<int64_t>(i) < d)
      s.outer *= shape[i];
    else if (static_cast<int64_t>(i) > d)
      s.inner *= shape[i];
  }
  return s;
}

Tensor softmax_fused_backward(
    const Tensor& y, const Tensor& dy, int64_t d, bool log) {
  const Tensor yc = y.detach().contiguous(), gc = dy.detach().contiguous();
  Tensor dx = empty(y.shape(), y.dtype());
  dispatch(y.dtype(), [&]<class T>() {
    kernels::softmax_backward<T>(
        class_axis(y.shape(), d), yc.data<T>(), gc.data<T>(),
        dx.mutable_data<T>(), log);
  });
  return dx;
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  require_floating(x.dtype(), op, "the input");
  const int64_t d = normalize_axis(dim, std::max<int64_t>(1, x.dim()), op);
  const Tensor xc = x.detach().contiguous();
  Tensor y = empty(x.shape(), x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    kernels::softmax_forward<T>(
        class_axis(x.shape(), d), xc.data<T>(), y.mutable_data<T>(), log);
  });
  return record(
      log ? Op::log_softmax : Op::softmax, y, {x}, {},
      [d, log](const BackwardArgs& g) -> TensorList {
        // NOTE [ Fused backward, differentiable backward ]
        if (!autograd::GradMode::is_enabled())
          return {softmax_fused_backward(g.out, g.grad, d, log)};
        if (log)
          return {g.grad - exp(g.out) * sum(g.grad, {d}, true)};
        return {g.out * (g.grad - sum(g.grad * g.out, {d}, true))};
      },
      /*save_output=*/true);
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_impl(x, dim, false);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl(x, dim, true);
}

ClassTargets class_targets(
    const Tensor& target,
    int64_t classes,
    const Tensor& weight,
    int64_t ignore_index,
    Dtype dtype,
    const char* op) {
  VOXGRAD_CHECK(target.defined(), op, ": target is undefined");
  VOXGRAD_CHECK(
      target.dtype() == kInt64, op, ": class-index target must be int64 (got ",
      dtype_name(target.dtype()), " ", shape_str(target.shape()),
      "); for class probabilities give target the input's shape");
  kernels::check_index(
      target, classes, op, "target", "the classes of the input", ignore_index);
  const Tensor tc = target.contiguous();
  const int64_t* t = tc.data<int64_t>();
  const int64_t n = tc.numel();
  ClassTargets out{empty(tc.shape(), kInt64), empty(tc.shape(), dtype)};
  int64_t* index = out.index.mutable_data<int64_t>();
  const Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  dispatch(dtype, [&]<class T>() {
    T* w = out.weight.mutable_data<T>();
    const T* cw = wc.defined() ? wc.data<T>() : nullptr;
    for (int64_t i = 0; i < n; ++i) {
      const bool ignored = t[i] == ignore_index;
      index[i] = ignored ? 0 : t[i];
      w[i] = ignored ? T(0) : (cw ? cw[t[i]] : T(1));
    }
  });
  return out;
}

Tensor cross_entropy_op(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight,
    int64_t ignore_index,
    double label_smoothing) {
  constexpr const char* op = "cross_entropy";
  VOXGRAD_CHECK(input.defined(), op, ": input is undefined");
  require_floating(input.dtype(), op, "input");
  VOXGRAD_CHECK(
      input.dim() >= 2, op, ": input must be (N, C) or (N, C, d1, ...) (got ",
      shape_str(input.shape()), ")");
  const int64_t C = input.size(1);
  Shape want = input.shape();
  want.erase(want.begin() + 1);
  VOXGRAD_CHECK(
      target.defined() && target.shape() == want, op, ": target ",
      target.defined() ? shape_str(target.shape()) : "undefined",
      " must be the input's shape without the class axis ", shape_str(want),
      " (input ", shape_str(input.shape()), ")");
  if (weight.defined()) {
    VOXGRAD_CHECK(
        weight.shape() == Shape{C} && weight.dtype() == input.dtype(), op,
        ": weight (", dtype_name(weight.dtype()), " ",
        shape_str(weight.shape()), ") must be ", dtype_name(input.dtype()),
        " [", C, "], one weight per class");
  }
  VOXGRAD_CHECK(
      label_smoothing >= 0 && label_smoothing <= 1, op,
      ": label_smoothing must lie in [0, 1] (got ", label_smoothing, ")");
  // The kernels trust the targets: validate them here.
  VOXGRAD_CHECK(
      target.dtype() == kInt64, op, ": class-index target must be int64 (got ",
      dtype_name(target.dtype()), ")");
  kernels::check_index(
      target, C, op, "target", "the classes of the input", ignore_index);
  const kernels::ClassAxis s = class_axis(input.shape(), 1);
  const Tensor x = input.detach().contiguous();
  const Tensor t = target.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor loss = empty(want, input.dtype());
  Tensor lse = empty(want, input.dtype());
  dispatch(input.dtype(), [&]<class T>() {
    const kernels::CrossEntropyArgs<T> a{
        t.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, ignore_index,
        label_smoothing};
    kernels::cross_entropy_forward<T>(
        s, x.data<T>(), a, loss.mutable_data<T>(), lse.mutable_data<T>());
  });
  return record(
      Op::cross_entropy, loss, {input}, {input, target, w, lse},
      [input, t, w, lse, C, ignore_index,
       label_smoothing](const BackwardArgs& g) -> TensorList {
        // NOTE [ Fused backward, differentiable backward ]
        if (!autograd::GradMode::is_enabled()) {
          const Tensor gc = g.grad.detach().contiguous();
          const Tensor xc = input.detach().contiguous();
          Tensor dx = empty(input.shape(), input.dtype());
          dispatch(input.dtype(), [&]<class T>() {
            const kernels::CrossEntropyArgs<T> a{
                t.data<int64_t>(), w.defined() ? w.data<T>() : nullptr,
                ignore_index, label_smoothing};
            kernels::cross_entropy_backward<T>(
                class_axis(input.shape(), 1), xc.data<T>(), a, lse.data<T>(),
                gc.data<T>(), dx.mutable_data<T>());
          });
          return {dx};
        }
        const ClassTargets ct =
            class_targets(t, C, w, ignore_index, input.dtype(), op);
        const double eps = label_smoothing;
        const Tensor p = softmax(input, 1);
        const Tensor gw = g.grad * ct.weight;  // 0 where ignored
        Tensor dx = p * (gw * (1.0 - eps)).unsqueeze(1);
        const Tensor onehot = scatter(
            zeros(input.shape(), input.dtype()), 1, ct.index.unsqueeze(1),
            (gw * (1.0 - eps)).unsqueeze(1));
        dx = dx - onehot;
        if (eps != 0) {
          // The smoothing term: (eps / C) g (W p - w) on every position that
          // is not ignored.
          Shape wshape(static_cast<size_t>(input.dim()), 1);
          wshape[1] = C;
          const Tensor wc =
              w.defined() ? w.reshape(wshape) : ones(wshape, input.dtype());
          const double W = w.defined() ? w.sum().item() : double(C);
          const Tensor mask =
              ne(t, full({}, static_cast<double>(ignore_index), kInt64))
                  .to(input.dtype());
          const Tensor gs = (g.grad * mask * (eps / double(C))).unsqueeze(1);
          dx = dx + gs * (p * W - wc);
        }
        return {dx};
      });
}

}  // namespace voxgrad
