// binary_cross_entropy as one op. Why not a composition of log/clamp/mul:
// PyTorch clamps the logs at -100 in the forward but takes the gradient from
// w (x - t) / max(x (1 - x), 1e-12), which stays finite at x = 0 and x = 1
// (predictions saturate there in practice). The composition would give
// 0 * inf = NaN at exactly those points. The backward below is written with
// differentiable ops, so double backward still works.

#include <cmath>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

Tensor binary_cross_entropy_op(
    const Tensor& input, const Tensor& target, const Tensor& weight) {
  constexpr const char* op = "binary_cross_entropy";
  VOXGRAD_CHECK(
      input.defined() && target.defined(), op,
      ": input or target is undefined");
  VOXGRAD_CHECK(
      input.shape() == target.shape(), op, ": input ", shape_str(input.shape()),
      " and target ", shape_str(target.shape()), " must have the same shape");
  require_floating(input.dtype(), op, "input");
  VOXGRAD_CHECK(
      input.dtype() == target.dtype(), op, ": input is ",
      dtype_name(input.dtype()), " but target is ", dtype_name(target.dtype()),
      "; convert one with .to(...)");
  if (weight.defined()) {
    VOXGRAD_CHECK(
        is_broadcastable_to(weight.shape(), input.shape()) &&
            weight.dtype() == input.dtype(),
        op, ": weight (", dtype_name(weight.dtype()), " ",
        shape_str(weight.shape()), ") must broadcast to input (",
        dtype_name(input.dtype()), " ", shape_str(input.shape()), ")");
  }
  const Tensor x = input.detach().contiguous();
  const Tensor t = target.detach().contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    const T* xp = x.data<T>();
    const T* tp = t.data<T>();
    T* op_ = out.mutable_data<T>();
    const int64_t n = x.numel();
    // Range check first (serial, cheap), so the error names the first bad
    // element whatever the thread count.
    for (int64_t i = 0; i < n; ++i) {
      VOXGRAD_CHECK(
          xp[i] >= T(0) && xp[i] <= T(1), op,
          ": every element of input must lie in [0, 1] (got ", xp[i],
          " at flat index ", i, " of ", shape_str(x.shape()),
          "); apply sigmoid first, or use binary_cross_entropy_with_logits");
    }
    parallel_for(0, n, 32768, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T log_x = std::max(std::log(xp[i]), T(-100));
        const T log_1mx = std::max(std::log1p(-xp[i]), T(-100));
        op_[i] = (tp[i] - T(1)) * log_1mx - tp[i] * log_x;
      }
    });
  });
  const Tensor w = weight.defined() ? weight.detach() : Tensor();
  if (w.defined()) {
    NoGradGuard no_grad;
    out = out * w;
  }
  return record(
      Op::binary_cross_entropy, out, {input, target}, {input, target, w},
      [input, target, w](const BackwardArgs& g) -> TensorList {
        const Tensor gw = w.defined() ? g.grad * w : g.grad;
        Tensor gx, gt;
        if (g.needs[0]) {
          gx = gw * (input - target) / clamp_min(input * (1.0 - input), 1e-12);
        }
        if (g.needs[1])
          gt = gw * (log(1.0 - input) - log(input));
        return {gx, gt};
      });
}

}  // namespace voxgrad
