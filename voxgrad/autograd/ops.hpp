#pragma once
// The differentiable functional API (names and semantics as in PyTorch).
// Binary ops broadcast NumPy-style and require both operands to have one
// dtype (no silent promotion); scalars adopt the tensor's dtype.

#include <string>
#include <vector>

#include "voxgrad/core/tensor.hpp"

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

// ---- linear algebra (voxgrad/autograd/ops/matmul.cpp)
// ----------------------------------
/// (..., m, k) @ (..., k, n) with broadcast batch axes; 1-d operands as in
/// NumPy (a vector is promoted, then the added axis removed).
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- shape (voxgrad/autograd/ops/shape.cpp)
// -----------------------------------------
Tensor cat(const TensorList& tensors, int64_t axis = 0);
Tensor stack(const TensorList& tensors, int64_t axis = 0);
/// Constant padding, F.pad's order: {last_before, last_after,
/// second_last_before, ...}; negative amounts crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0);
/// Reverses the order of elements along each of `dims` (a copy).
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
/// Shifts elements along dims[i] by shifts[i], wrapping around (a copy);
/// with no dims, rolls the flattened tensor by the single shift.
///   roll(x, {1, -2}, {2, 3});
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

}  // namespace voxgrad
