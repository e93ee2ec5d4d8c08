// cumsum, forward and backward side by side. The backward is the reversed
// cumulative sum, flip(cumsum(flip(g))), written with the ops themselves so
// that derivatives of every order exist.

#include "voxgrad/core/kernels/scan.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

Tensor cumsum(const Tensor& x, int64_t dim) {
  VOXGRAD_CHECK(x.defined(), "cumsum: the input is undefined");
  require_floating(x.dtype(), "cumsum", "the input");
  const int64_t a = normalize_axis(dim, x.dim(), "cumsum");
  return record(
      Op::cumsum, kernels::cumsum(x, a), {x}, {},
      [a](const BackwardArgs& g) -> TensorList {
        return {flip(cumsum(flip(g.grad, {a}), a), {a})};
      });
}

}  // namespace voxgrad
