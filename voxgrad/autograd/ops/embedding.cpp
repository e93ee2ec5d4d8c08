// Embedding lookup, forward and backward side by side: rows of the weight
// gathered by index_select's kernel; the backward sums each row's lookups
// with index_add (NOTE [ Deterministic scatter-add ]), after zeroing the
// lookups of padding_idx and, with scale_grad_by_freq, dividing each by its
// row's count. index_add is differentiable, so double backward works.

#include <algorithm>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/index.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

/// (n, 1) factors for the n lookups of `flat`: 0 at padding_idx, 1 / count
/// of the row with scale_grad_by_freq, else 1.
Tensor lookup_scale(
    const Tensor& flat,
    int64_t num,
    std::optional<int64_t> padding_idx,
    bool scale_grad_by_freq,
    Dtype dtype) {
  const auto idx = flat.to_vector<int64_t>();
  std::vector<int64_t> count;
  if (scale_grad_by_freq) {
    count.assign(static_cast<size_t>(num), 0);
    for (int64_t i : idx)
      ++count[static_cast<size_t>(i)];
  }
  std::vector<double> f(idx.size(), 1.0);
  for (size_t k = 0; k < idx.size(); ++k) {
    if (padding_idx && idx[k] == *padding_idx)
      f[k] = 0.0;
    else if (scale_grad_by_freq)
      f[k] = 1.0 / static_cast<double>(count[static_cast<size_t>(idx[k])]);
  }
  return tensor(f, {static_cast<int64_t>(idx.size()), 1}, dtype);
}

}  // namespace

Tensor embedding_op(
    const Tensor& weight,
    const Tensor& indices,
    std::optional<int64_t> padding_idx,
    bool scale_grad_by_freq) {
  constexpr const char* op = "embedding";
  VOXGRAD_CHECK(weight.defined(), op, ": weight is undefined");
  require_floating(weight.dtype(), op, "weight");
  VOXGRAD_CHECK(
      weight.dim() == 2, op,
      ": weight must be 2-D (num_embeddings, embedding_dim) (got ",
      shape_str(weight.shape()), ")");
  VOXGRAD_CHECK(indices.defined(), op, ": indices is undefined");
  VOXGRAD_CHECK(
      indices.dtype() == kInt64, op, ": indices must be int64 (got ",
      dtype_name(indices.dtype()), " ", shape_str(indices.shape()),
      "); convert them with .to(kInt64)");
  const int64_t num = weight.size(0), dim = weight.size(1);
  if (padding_idx) {
    VOXGRAD_CHECK(
        *padding_idx >= 0 && *padding_idx < num, op, ": padding_idx ",
        *padding_idx, " must lie in [0, num_embeddings = ", num, ")");
  }
  kernels::check_index(
      indices, num, op, "index", "the rows of weight (num_embeddings)");
  const Tensor flat = indices.reshape({-1});
  Shape shape = indices.shape();
  shape.push_back(dim);
  const Tensor out =
      kernels::index_select(weight.detach(), 0, flat).reshape(shape);
  return record(
      Op::embedding, out, {weight}, {indices},
      [flat, num, dim, padding_idx,
       scale_grad_by_freq](const BackwardArgs& g) -> TensorList {
        Tensor rows = g.grad.reshape({-1, dim});
        if (padding_idx || scale_grad_by_freq)
          rows = rows * lookup_scale(
                            flat, num, padding_idx, scale_grad_by_freq,
                            g.grad.dtype());
        return {index_add(zeros({num, dim}, g.grad.dtype()), 0, flat, rows)};
      });
}

}  // namespace voxgrad
