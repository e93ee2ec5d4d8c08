#pragma once
// Differentiable ops behind nn/ layers that are not compositions of the
// functional API: 3-D upsampling (voxgrad/autograd/ops/upsample.cpp), the
// losses' fused ops (voxgrad/autograd/ops/loss.cpp), cross entropy
// (voxgrad/autograd/ops/softmax.cpp) and embedding lookups
// (voxgrad/autograd/ops/embedding.cpp). Users normally reach them
// through nn::Upsample / nn::functional::interpolate and nn::BCELoss, which
// validate options the way PyTorch does; these functions check tensors only.

#include <array>
#include <optional>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// Output extents (D, H, W) of a 3-D resampling.
using Size3 = std::array<int64_t, 3>;
/// The user's scale factor per axis (D, H, W), when the output size came from
/// one; PyTorch then maps indices with 1 / scale instead of in / out.
using Scales3 = std::array<std::optional<double>, 3>;

// NOTE [ Upsampling as separable linear maps ]
// Each mode is, per axis, a sparse (out x in) matrix A: nearest has one 1 per
// row (PyTorch's CPU forward rule: floor(o * (1/scale or in/out)), clamped to
// in - 1; PyTorch's own backward differs from the adjoint of that forward
// when a scale_factor != 1 leaves an extent unchanged, ours does not),
// trilinear two weights
// (PyTorch's `compute_source_index_and_lambda`, with align_corners and
// clamping). The 3-D op is y = (A_d ⊗ A_h ⊗ A_w) x per (n, c) plane and its
// backward is the transpose. One kernel applies such a map in either
// direction as a gather over the *output* (the transposed matrix is built
// explicitly), so every output element is summed by one thread in a fixed
// order: results are bit-identical for any thread count. Forward and backward
// are adjoint ops of each other, so derivatives of every order exist.

/// Nearest upsampling of x (N, C, D, H, W) to (N, C, out_size).
/// ```cpp
/// Tensor y = upsample_nearest3d(x, {8, 8, 8}, {2.0, 2.0, 2.0});
/// ```
Tensor upsample_nearest3d(
    const Tensor& x, const Size3& out_size, const Scales3& scales = {});

/// The adjoint of upsample_nearest3d: sums grad (N, C, out) into the input
/// cells each element was copied from, giving `input_size` (5-D).
Tensor upsample_nearest3d_backward(
    const Tensor& grad, const Shape& input_size, const Scales3& scales = {});

/// Trilinear upsampling of x (N, C, D, H, W) to (N, C, out_size).
Tensor upsample_trilinear3d(
    const Tensor& x,
    const Size3& out_size,
    bool align_corners,
    const Scales3& scales = {});

/// The adjoint of upsample_trilinear3d (its backward), giving `input_size`.
Tensor upsample_trilinear3d_backward(
    const Tensor& grad,
    const Shape& input_size,
    bool align_corners,
    const Scales3& scales = {});

/// Unreduced binary cross entropy, PyTorch's formula and gradients:
/// -w * (t * max(log x, -100) + (1 - t) * max(log(1 - x), -100)), with
/// d/dx = w (x - t) / max(x (1 - x), 1e-12) and d/dt = -w logit(x).
/// input and target have one shape, every input in [0, 1]; weight (may be
/// undefined) broadcasts to it and is not differentiated (as in PyTorch).
Tensor binary_cross_entropy_op(
    const Tensor& input, const Tensor& target, const Tensor& weight = {});

/// Unreduced cross entropy of logits `input` (N, C) or (N, C, d1, ...)
/// against class indices `target` (N) or (N, d1, ...), int64, PyTorch's
/// semantics per position: (1 - eps) (-w_t log p_t) + eps / C
/// (-sum_c w_c log p_c), 0 where target == ignore_index; p =
/// softmax(input, 1). Fused and numerically stable (NOTE [ Fused backward,
/// differentiable backward ] in voxgrad/autograd/ops/softmax.cpp); weight
/// (C) or undefined, not differentiated. Every target is checked.
Tensor cross_entropy_op(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight,
    int64_t ignore_index,
    double label_smoothing);

/// Class-index targets made safe to gather with: `index` is target with
/// ignore_index replaced by 0, `weight` the weight of each position's class
/// (1 without class weights) and 0 where ignored, in `dtype`. Checks every
/// target (0 <= target < classes or == ignore_index), naming `op`.
struct ClassTargets {
  Tensor index;
  Tensor weight;
};
ClassTargets class_targets(
    const Tensor& target,
    int64_t classes,
    const Tensor& weight,
    int64_t ignore_index,
    Dtype dtype,
    const char* op);

/// Rows of `weight` (num, D) at `indices` (any shape, int64): (..., D).
/// The gradient of a row is the sum of the gradients of its lookups, in
/// increasing position order, with rows equal to padding_idx getting none
/// and, with scale_grad_by_freq, each row's divided by its count in
/// `indices` (PyTorch's embedding).
Tensor embedding_op(
    const Tensor& weight,
    const Tensor& indices,
    std::optional<int64_t> padding_idx,
    bool scale_grad_by_freq);

/// binary_cross_entropy_op's input gradient, grad (x - t) / max(x (1 - x),
/// 1e-12), as one fused op (differentiable again).
Tensor binary_cross_entropy_backward(
    const Tensor& grad, const Tensor& input, const Tensor& target);

/// Unreduced, unweighted BCE with logits, (1 - t) x + log(1 + exp(-x))
/// (stable for any x), in one pass; gradients grad (sigmoid(x) - t) and
/// -grad x. nn::functional::binary_cross_entropy_with_logits uses it when
/// there is no weight or pos_weight. Same shape and dtype required.
Tensor binary_cross_entropy_with_logits_op(
    const Tensor& input, const Tensor& target);

/// Its input gradient grad (sigmoid(x) - t) as one fused op.
Tensor binary_cross_entropy_with_logits_backward(
    const Tensor& grad, const Tensor& input, const Tensor& target);

/// Unreduced squared error (x - t)^2 in one pass (nn::functional::mse_loss);
/// input gradient 2 (x - t) grad. Same shape and dtype required.
Tensor mse_loss_op(const Tensor& input, const Tensor& target);

/// Its input gradient 2 (x - t) grad as one fused op.
Tensor mse_loss_backward(
    const Tensor& grad, const Tensor& input, const Tensor& target);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
