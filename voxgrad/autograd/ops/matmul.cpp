// matmul with NumPy semantics: batch axes broadcast, 1-d operands promoted.

#include "voxgrad/core/kernels/matmul.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  VOXGRAD_CHECK(
      b.size(-2) == k, "matmul: inner extents differ (a ", shape_str(a.shape()),
      " has ", k, " columns, b ", shape_str(b.shape()), " has ", b.size(-2),
      " rows)");
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape as = batch, bs = batch, os = batch;
  as.insert(as.end(), {m, k});
  bs.insert(bs.end(), {k, n});
  os.insert(os.end(), {m, n});
  // Kernel operands: contiguous, batch broadcast materialised (no recording).
  const Tensor ac = a.detach().expand(as).contiguous();
  const Tensor bc = b.detach().expand(bs).contiguous();
  Tensor out = empty(os, a.dtype());
  dispatch(a.dtype(), [&]<class T>() {
    kernels::matmul<T>(
        numel(batch), m, k, n, ac.data<T>(), bc.data<T>(),
        out.mutable_data<T>());
  });
  return record(
      Op::matmul, out, {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? matmul(g.grad, b.transpose(-1, -2)) : Tensor(),
            g.needs[1] ? matmul(a.transpose(-1, -2), g.grad) : Tensor()};
      });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  VOXGRAD_CHECK(a.defined() && b.defined(), "matmul: an operand is undefined");
  VOXGRAD_CHECK(
      a.dim() >= 1 && b.dim() >= 1, "matmul: operands must be at ",
      "least 1-d (got ", shape_str(a.shape()), " and ", shape_str(b.shape()),
      ")");
  VOXGRAD_CHECK(
      a.dtype() == b.dtype(), "matmul: operands must have one dtype (got ",
      dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), ")");
  require_floating(a.dtype(), "matmul", "the operands' dtype");
  const bool va = a.dim() == 1, vb = b.dim() == 1;
  Tensor out = matmul_nd(va ? a.unsqueeze(0) : a, vb ? b.unsqueeze(-1) : b);
  if (va && vb)
    return out.reshape({});
  if (vb)
    return out.squeeze(-1);
  if (va)
    return out.squeeze(-2);
  return out;
}

}  // namespace voxgrad
