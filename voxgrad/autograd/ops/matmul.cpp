// matmul with NumPy semantics: batch axes broadcast, 1-d operands promoted.

#include "voxgrad/core/kernels/matmul.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// A (..., r, c) operand as the GEMM reads it: rows of stride `ld` with unit
/// column stride, or (trans) the transpose of such a layout; batch entries
/// `batch_stride` apart (0: one matrix for every entry).
struct MatrixOperand {
  Tensor t;  // keeps the memory alive
  int64_t ld = 0, batch_stride = 0;
  bool trans = false;
};

/// x broadcast to `batch` + (r, c) without a copy when its layout allows
/// it (a transposed view, e.g. Linear's weight.t(), is read as such);
/// otherwise a contiguous copy.
MatrixOperand matrix_operand(const Tensor& x, const Shape& batch) {
  const int64_t r = x.size(-2), c = x.size(-1);
  Shape full = batch;
  full.insert(full.end(), {r, c});
  const Tensor e = x.detach().expand(full);
  const Strides& st = e.strides();
  const size_t nb = batch.size();
  // One stride for the flattened batch index, if the batch axes allow it.
  int64_t bstride = 0;
  bool batch_ok = true;
  int64_t expect = -1;
  for (size_t i = nb; i-- > 0;) {
    if (full[i] == 1)
      continue;
    if (expect < 0) {
      bstride = st[i];
    } else if (st[i] != expect) {
      batch_ok = false;
    }
    expect = st[i] * full[i];
  }
  const int64_t s_r = st[nb], s_c = st[nb + 1];
  MatrixOperand m;
  if (batch_ok && (s_c == 1 || c == 1) && s_r >= c) {
    m = {e, r == 1 ? c : s_r, bstride, false};
  } else if (batch_ok && (s_r == 1 || r == 1) && s_c >= r) {
    m = {e, c == 1 ? r : s_c, bstride, true};
  } else {
    const Tensor cc = e.contiguous();
    m = {cc, c, r * c, false};
  }
  if (numel(batch) <= 1)
    m.batch_stride = 0;
  return m;
}

/// A matrix (or batch of them) stored transposed: unit stride down a
/// column, e.g. weight.t().
bool column_major(const Tensor& t) {
  const int64_t r = t.size(-2), c = t.size(-1);
  return r > 1 && c > 1 && t.strides()[t.strides().size() - 2] == 1 &&
         t.strides().back() >= r;
}

Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  VOXGRAD_CHECK(
      b.size(-2) == k, "matmul: inner extents differ (a ", shape_str(a.shape()),
      " has ", k, " columns, b ", shape_str(b.shape()), " has ", b.size(-2),
      " rows)");
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape os = batch;
  os.insert(os.end(), {m, n});
  // Kernel operands read in place where their strides allow (no recording).
  const MatrixOperand ma = matrix_operand(a, batch);
  const MatrixOperand mb = matrix_operand(b, batch);
  Tensor out = empty(os, a.dtype());
  dispatch(a.dtype(), [&]<class T>() {
    kernels::GemmArgs<T> g;
    g.batch = numel(batch);
    g.m = m;
    g.n = n;
    g.k = k;
    g.a = ma.t.template data<T>();
    g.lda = ma.ld;
    g.stride_a = ma.batch_stride;
    g.trans_a = ma.trans;
    g.b = mb.t.template data<T>();
    g.ldb = mb.ld;
    g.stride_b = mb.batch_stride;
    g.trans_b = mb.trans;
    g.c = out.mutable_data<T>();
    g.ldc = n;
    g.stride_c = m * n;
    kernels::gemm(g);
  });
  return record(
      Op::matmul, out, {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        // A gradient is laid out like its operand (PyTorch's mm backward
        // does the same): for a transposed operand such as Linear's
        // weight.t(), (g^T a)^T rather than a^T g, so the leaf's gradient
        // arrives contiguous and is kept without a copy.
        const Tensor gt = g.grad.transpose(-1, -2);
        Tensor ga, gb;
        if (g.needs[0])
          ga = column_major(a) ? matmul(b, gt).transpose(-1, -2)
                               : matmul(g.grad, b.transpose(-1, -2));
        if (g.needs[1])
          gb = column_major(b) ? matmul(gt, a).transpose(-1, -2)
                               : matmul(a.transpose(-1, -2), g.grad);
        return {ga, gb};
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
