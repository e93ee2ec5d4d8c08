#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_
// (libtorch: torch::nn::utils). Both change the gradients in place and skip
// parameters without one.
//
// ```cpp
// loss.backward();
// nn::utils::clip_grad_norm_(model->parameters(), 1.0);
// opt.step();
// ```

#include <limits>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn::utils {

/// Scales all gradients together so that their total norm (the `norm_type`
/// norm of every gradient element, taken as one vector; infinity for the
/// max-norm) is at most about max_norm: g *= min(1, max_norm / (norm +
/// 1e-6)). Returns the total norm before clipping (accumulated in double).
/// A non-finite total norm throws if error_if_nonfinite, and otherwise
/// scales by the non-finite factor as PyTorch does.
double clip_grad_norm_(
    const TensorList& params,
    double max_norm,
    double norm_type = 2.0,
    bool error_if_nonfinite = false);

/// The max-norm, for clip_grad_norm_'s norm_type.
inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const TensorList& params, double clip_value);

}  // namespace voxgrad::nn::utils

namespace voxgrad::optim {
// The names before they moved to nn::utils (where libtorch has them).
using nn::utils::clip_grad_norm_;
using nn::utils::clip_grad_value_;
using nn::utils::kInfNorm;
}  // namespace voxgrad::optim

VOXGRAD_PUBLIC_END
