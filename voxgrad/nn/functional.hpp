#pragma once
// nn::functional, alias voxgrad::F: every functional op in one namespace, as
// torch.nn.functional (libtorch: torch::nn::functional). The ops are
// declared with their modules (F::linear in voxgrad/nn/linear.hpp, ...) or,
// for the pointwise ones, with the differentiable API in
// voxgrad/autograd/ops.hpp, and gathered here; the root spellings
// (voxgrad::conv3d, voxgrad::relu, ...) stay valid.
//
// ```cpp
// Tensor x = randn({2, 1, 8, 8, 8});
// Tensor w = randn({4, 1, 3, 3, 3});
// Tensor h = F::relu(F::conv3d(x, w, {}, /*stride=*/1, /*padding=*/1));
// Tensor up = F::interpolate(h, nn::UpsampleOptions().scale_factor(2.0));
// Tensor loss = F::mse_loss(up, zeros_like(up));
// ```

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/activation.hpp"
#include "voxgrad/nn/attention.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/cross_entropy.hpp"
#include "voxgrad/nn/dropout.hpp"
#include "voxgrad/nn/embedding.hpp"
#include "voxgrad/nn/instance_norm.hpp"
#include "voxgrad/nn/layer_norm.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/loss.hpp"
#include "voxgrad/nn/max_unpool.hpp"
#include "voxgrad/nn/normalization.hpp"
#include "voxgrad/nn/pixel_shuffle.hpp"
#include "voxgrad/nn/pooling.hpp"
#include "voxgrad/nn/softmax.hpp"
#include "voxgrad/nn/upsample.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn::functional {

// Convolutions (voxgrad/nn/conv.hpp).
using voxgrad::conv3d;
using voxgrad::conv_transpose3d;

// Activations (voxgrad/autograd/ops.hpp).
using voxgrad::leaky_relu;
using voxgrad::log_sigmoid;
using voxgrad::relu;
using voxgrad::sigmoid;
using voxgrad::silu;
using voxgrad::softplus;
using voxgrad::tanh;

// Padding (F.pad, constant mode; voxgrad/autograd/ops.hpp).
using voxgrad::pad;

// Declared in their modules' headers, listed here for the reader:
// linear (linear.hpp); batch_norm, group_norm (normalization.hpp);
// dropout, dropout3d (dropout.hpp); interpolate (upsample.hpp); mse_loss,
// l1_loss, binary_cross_entropy, binary_cross_entropy_with_logits,
// kl_divergence_gaussian (loss.hpp).

}  // namespace voxgrad::nn::functional

namespace voxgrad {
/// voxgrad::F::conv3d, F::relu, F::mse_loss, ...
namespace F = nn::functional;
}  // namespace voxgrad

VOXGRAD_PUBLIC_END
