#pragma once
// Index kernels: gather / scatter / scatter-add along an axis, index_select /
// index_add, arg-reductions, one-hot and top-k. They know nothing of
// autograd. Callers check shapes and dtypes; the kernels check index values
// (check_index), because only they read them.
//
// NOTE [ Deterministic scatter-add ]
// Where several indices name one output element, the additions happen in
// increasing order of the source position along the axis, starting from the
// destination's value: out[t] = ((self[t] + src[j1]) + src[j2]) + ... with
// j1 < j2 < ... . Work is split by output lines (scatter_add) or output rows
// (index_add, after a stable counting sort of the indices), never by source,
// so no two threads add into one element and the order, hence the bits, do
// not depend on the thread count. It is also the order of PyTorch's CPU
// loops, so float64 results match PyTorch exactly.

#include <optional>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

/// Throws voxgrad::Error unless every element of the int64 tensor `index`
/// lies in [0, size): names `op`, the argument, the first bad value in
/// row-major order, its position and the rule, e.g.
/// "gather: index value 7 at position [1, 2] is out of range for axis 1 of
/// size 5 (need 0 <= index < 5)".
/// With `ignore`, that value is accepted too (cross-entropy's ignore_index).
void check_index(
    const Tensor& index,
    int64_t size,
    const char* op,
    const char* arg,
    const char* what,
    std::optional<int64_t> ignore = std::nullopt);

/// out[p] = x[p with p[dim] replaced by index[p]]; out has index's shape and
/// x's dtype; index.size(d) <= x.size(d) for d != dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

/// A copy of self with out[p with p[dim] = index[p]] = src[p] (`add`: +=),
/// for every position p of index (index.size(d) <= src.size(d) for all d,
/// <= self.size(d) for d != dim). With repeats, the last source wins for
/// the assignment and additions follow NOTE [ Deterministic scatter-add ].
Tensor scatter(
    const Tensor& self,
    int64_t dim,
    const Tensor& index,
    const Tensor& src,
    bool add);

/// scatter of the scalar `value` (assignment).
Tensor scatter_value(
    const Tensor& self, int64_t dim, const Tensor& index, double value);

/// out = x with axis `dim` replaced by x[..., index[j], ...]; index 1-d.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);

/// A copy of self with self[..., index[j], ...] += alpha * source[..., j,
/// ...] for each j (NOTE [ Deterministic scatter-add ]); index 1-d.
Tensor index_add(
    const Tensor& self,
    int64_t dim,
    const Tensor& index,
    const Tensor& source,
    double alpha);

/// Position along `dim` of the first maximum (`max`) or minimum, NaN
/// counting as the extreme (PyTorch's rule); the axis is kept with extent 1.
/// int64 result.
Tensor arg_extreme(const Tensor& x, int64_t dim, bool max);

/// int64 (..., num_classes) with a 1 at each label.
Tensor one_hot(const Tensor& labels, int64_t num_classes);

/// For rows (m, D) grouped in segments of consecutive rows
/// [starts[b], starts[b + 1]) (B + 1 nondecreasing int64 values, the last
/// m): the row of the first maximum of each column in each segment (NaN
/// wins), -1 for an empty segment. int64 (B, D).
Tensor segment_argmax(const Tensor& rows, const std::vector<int64_t>& starts);

/// Positions along `dim` of the k largest (or smallest) elements in order,
/// ties by increasing position, NaN largest; int64 (..., k, ...).
Tensor topk_indices(const Tensor& x, int64_t k, int64_t dim, bool largest);

}  // namespace voxgrad::kernels
