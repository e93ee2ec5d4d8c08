#pragma once
// The differentiable functional API (names and semantics as in PyTorch).
// Binary ops broadcast NumPy-style and require both operands to have one
// dtype (no silent promotion); scalars adopt the tensor's dtype.

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "voxgrad/core/padding_mode.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

// ---- arithmetic (voxgrad/autograd/ops/binary.cpp)
// ----------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// a ^ b elementwise (0^0 = 1).
Tensor pow(const Tensor& a, const Tensor& b);
/// Elementwise max / min; ties split the gradient equally, as in PyTorch.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// cond != 0 ? a : b (cond is a 0/1 mask, e.g. from gt(); not differentiated).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

// ---- comparisons: 0/1 masks in the operands' dtype, never differentiated ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor eq(const Tensor& a, double b);
/// 1 where the element is finite, 0 for inf and NaN.
Tensor isfinite(const Tensor& x);
/// -1, 0 or 1 (not differentiated).
Tensor sign(const Tensor& x);

// ---- pointwise (voxgrad/autograd/ops/unary.cpp)
// ------------------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
/// x ^ p for a scalar p.
Tensor pow(const Tensor& x, double p);
Tensor square(const Tensor& x);
Tensor clamp(const Tensor& x, double min, double max);
Tensor clamp_min(const Tensor& x, double min);
Tensor clamp_max(const Tensor& x, double max);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor silu(const Tensor& x);
/// log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch's).
Tensor softplus(const Tensor& x, double beta = 1, double threshold = 20);
/// log(sigmoid(x)), computed stably as -softplus(-x).
Tensor log_sigmoid(const Tensor& x);

// ---- math and activations of issue 11 (voxgrad/autograd/ops/activation.cpp)
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor erf(const Tensor& x);
/// x > 0 ? x : alpha (exp(x) - 1).
Tensor elu(const Tensor& x, double alpha = 1.0);
/// x Phi(x) with approximate "none" (exact, via erf), or PyTorch's "tanh"
/// approximation 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
/// x tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// clamp(x, min_val, max_val) whose gradient is 0 at the bounds themselves
/// (PyTorch's); needs max_val > min_val.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// x > 0 ? x : weight x, weight 1-D with one slope or one per channel
/// (axis 1); both inputs are differentiated.
Tensor prelu(const Tensor& x, const Tensor& weight);

// ---- reductions (voxgrad/autograd/ops/reduce.cpp); axes may be negative
// -------------
Tensor sum(
    const Tensor& x,
    const std::vector<int64_t>& axes = {},
    bool keepdim = false);
Tensor mean(
    const Tensor& x,
    const std::vector<int64_t>& axes = {},
    bool keepdim = false);
/// Maximum over axes (PyTorch's amax). Empty axes = all.
Tensor amax(
    const Tensor& x,
    const std::vector<int64_t>& axes = {},
    bool keepdim = false);
/// Population (unbiased = false) or sample variance over axes.
Tensor var(
    const Tensor& x,
    const std::vector<int64_t>& axes = {},
    bool unbiased = true,
    bool keepdim = false);
Tensor logsumexp(
    const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);

// ---- softmax (voxgrad/autograd/ops/softmax.cpp); fused and stable -------
/// exp(x) / sum(exp(x)) along dim, shifted by the maximum first.
/// ```cpp
/// Tensor probs = softmax(logits, 1);
/// ```
Tensor softmax(const Tensor& x, int64_t dim);
/// (x - max) - log(sum(exp(x - max))) along dim: never log(softmax(x)).
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- indexing (voxgrad/autograd/ops/index.cpp) ----------------------------
// Index arguments are int64 tensors (kInt64); every index value is checked
// (0 <= index < size: no negative indices, as in PyTorch). Results are
// deterministic for any thread count (NOTE [ Deterministic scatter-add ] in
// voxgrad/core/kernels/index.hpp).

/// out[i][j][k] = x[i][index[i][j][k]][k] for dim 1; index has x's rank and
/// is no larger than x on the other axes; out has index's shape.
/// ```cpp
/// Tensor picked = gather(logits, 1, labels.unsqueeze(1));
/// ```
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// A copy of self with out[i][index[i][j][k]][k] += src[i][j][k] (dim 1);
/// repeated indices add in increasing j, whatever the thread count.
Tensor scatter_add(
    const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
/// A copy of self with out[i][index[i][j][k]][k] = src[i][j][k] (dim 1); with
/// repeated indices the last j wins.
Tensor scatter(
    const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
/// scatter of one value.
Tensor scatter(
    const Tensor& self, int64_t dim, const Tensor& index, double value);
/// The slices index[0], index[1], ... of x along dim; index 1-d.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// A copy of self with self[..., index[j], ...] += alpha * source[..., j, ...]
/// (dim's slices; repeated indices add in increasing j).
Tensor index_add(
    const Tensor& self,
    int64_t dim,
    const Tensor& index,
    const Tensor& source,
    double alpha = 1);
/// gather after broadcasting x and indices on every axis but dim; without
/// dim, on the flattened tensors (torch::take_along_dim).
Tensor take_along_dim(
    const Tensor& x,
    const Tensor& indices,
    std::optional<int64_t> dim = std::nullopt);
/// x with `value` where mask is non-zero (mask: x's dtype or int64,
/// broadcast); no gradient reaches the filled elements.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
/// int64 (..., num_classes) with one 1 per label; num_classes -1 means
/// max(labels) + 1.
Tensor one_hot(const Tensor& labels, int64_t num_classes = -1);
/// Position of the first maximum / minimum (NaN counts as the extreme), as
/// int64; over the flattened input when dim is not given.
Tensor argmax(
    const Tensor& x,
    std::optional<int64_t> dim = std::nullopt,
    bool keepdim = false);
Tensor argmin(
    const Tensor& x,
    std::optional<int64_t> dim = std::nullopt,
    bool keepdim = false);
/// (values, indices) of the maximum along dim, first occurrence on ties;
/// the gradient goes to that element only (unlike amax).
/// ```cpp
/// auto [v, i] = max(scores, 1);
/// ```
std::tuple<Tensor, Tensor> max(
    const Tensor& x, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(
    const Tensor& x, int64_t dim, bool keepdim = false);
/// Minimum over axes (ties share the gradient, like amax). Empty axes = all.
Tensor amin(
    const Tensor& x,
    const std::vector<int64_t>& axes = {},
    bool keepdim = false);
/// (values, indices) of the k largest (or smallest) along dim, in order;
/// ties by increasing position, NaN largest. Always sorted.
std::tuple<Tensor, Tensor> topk(
    const Tensor& x,
    int64_t k,
    int64_t dim = -1,
    bool largest = true,
    bool sorted = true);

// ---- linear algebra (voxgrad/autograd/ops/matmul.cpp)
// ----------------------------------
/// (..., m, k) @ (..., k, n) with broadcast batch axes; 1-d operands as in
/// NumPy (a vector is promoted, then the added axis removed).
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- shape (voxgrad/autograd/ops/shape.cpp)
// -----------------------------------------
Tensor cat(const TensorList& tensors, int64_t axis = 0);
Tensor stack(const TensorList& tensors, int64_t axis = 0);
/// Reverses the order of elements along each of `dims` (a copy).
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
/// Shifts elements along dims[i] by shifts[i], wrapping around (a copy);
/// with no dims, rolls the flattened tensor by the single shift.
/// ```cpp
/// Tensor rolled = roll(x, {1, -2}, {2, 3});
/// ```
Tensor roll(
    const Tensor& x,
    const std::vector<int64_t>& shifts,
    const std::vector<int64_t>& dims = {});
/// Inclusive cumulative sum along `dim` (float sums accumulate in double).
Tensor cumsum(const Tensor& x, int64_t dim);
/// Gradient of slice(): `grad` placed into zeros of `shape` at
/// start, start+step, ... along `axis`.
Tensor slice_backward(
    const Tensor& grad,
    const Shape& shape,
    int64_t axis,
    int64_t start,
    int64_t step);

// ---- padding (voxgrad/autograd/ops/pad.cpp)
// ----------------------------------------
/// Constant padding, F.pad's order: {last_before, last_after,
/// second_last_before, ...}; negative amounts crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0);
/// F.pad(x, pads, mode) for a PaddingMode (voxgrad/core/padding_mode.hpp):
/// 2, 4 or 6 amounts >= 0 padding the last 1, 2 or 3 axes of a tensor with
/// one or two more axes, e.g. (N, C, D, H, W) or unbatched (C, D, H, W).
/// Zeros is constant padding with 0. Reflect needs each amount < the size,
/// circular <= the size, replicate a size >= 1.
/// ```cpp
/// Tensor y = pad(x, {1, 1, 1, 1, 1, 1}, PaddingMode::Circular);
/// ```
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PaddingMode mode);
/// The adjoint (transpose) of pad(·, pads, mode), for g shaped like its
/// output: adds every halo value back onto the element it was copied from,
/// then crops, so <pad(x), g> = <x, pad_adjoint(g)>. For Zeros it is the
/// crop. The amounts must fit the *result* as they would fit pad's input.
/// pad and pad_adjoint are each other's backward.
/// ```cpp
/// Tensor x_grad = pad_adjoint(g, {1, 1, 1, 1, 1, 1}, PaddingMode::Reflect);
/// ```
Tensor pad_adjoint(
    const Tensor& g, const std::vector<int64_t>& pads, PaddingMode mode);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
