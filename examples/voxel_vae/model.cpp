#include "model.hpp"

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/activation.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/flatten.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/loss.hpp"

namespace voxgrad::examples {
namespace {

// LeakyReLU(0.2) rather than ReLU: with no normalisation layers, units that
// die early never recover in a few thousand steps.
nn::LeakyReLU act() {
  return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2));
}

nn::Conv3d down(int64_t in, int64_t out) {
  return nn::Conv3d(nn::Conv3dOptions(in, out, 4).stride(2).padding(1));
}

nn::ConvTranspose3d up(int64_t in, int64_t out) {
  return nn::ConvTranspose3d(
      nn::ConvTranspose3dOptions(in, out, 4).stride(2).padding(1));
}

}  // namespace

VoxelVAE::VoxelVAE(const VaeArch& arch) : arch_(arch) {
  VOXGRAD_CHECK(
      arch.resolution >= 8 && arch.resolution % 8 == 0,
      "VoxelVAE: resolution must be a multiple of 8 (got ", arch.resolution,
      ")");
  VOXGRAD_CHECK(
      arch.width >= 1 && arch.width <= 256,
      "VoxelVAE: width must be in [1, 256] (got ", arch.width, ")");
  VOXGRAD_CHECK(
      arch.latent >= 1 && arch.latent <= 4096,
      "VoxelVAE: latent must be in [1, 4096] (got ", arch.latent, ")");
  const int64_t w = arch.width, s = arch.resolution / 8;
  const int64_t flat = 4 * w * s * s * s;
  encoder_ = register_module(
      "encoder",
      nn::Sequential(
          down(1, w), act(), down(w, 2 * w), act(), down(2 * w, 4 * w), act(),
          nn::Flatten(), nn::Linear(flat, 2 * arch.latent)));
  decoder_ = register_module(
      "decoder", nn::Sequential(
                     nn::Linear(arch.latent, flat), act(),
                     nn::Unflatten(nn::UnflattenOptions(1, {4 * w, s, s, s})),
                     up(4 * w, 2 * w), act(), up(2 * w, w), act(), up(w, 1)));
}

std::pair<Tensor, Tensor> VoxelVAE::encode(const Tensor& x) {
  const Tensor h = encoder_(x);
  return {
      h.slice(1, 0, arch_.latent), h.slice(1, arch_.latent, 2 * arch_.latent)};
}

Tensor VoxelVAE::decode(const Tensor& z) {
  return decoder_(z);
}

Tensor VoxelVAE::forward(const Tensor& x) {
  return decode(encode(x).first);
}

VaeOutput VoxelVAE::forward(const Tensor& x, const Tensor& eps) {
  auto [mu, logvar] = encode(x);
  const Tensor z = mu + exp(logvar * 0.5) * eps;
  return {decode(z), mu, logvar};
}

VaeLoss vae_loss(const VaeOutput& out, const Tensor& target, double beta) {
  namespace F = nn::functional;
  const double n = static_cast<double>(target.size(0));
  const Tensor rec = F::binary_cross_entropy_with_logits(
                         out.logits, target, {}, {}, nn::Reduction::Sum) /
                     n;
  const Tensor kl =
      F::kl_divergence_gaussian(out.mu, out.logvar, nn::Reduction::Sum) / n;
  return {rec + kl * beta, rec, kl};
}

}  // namespace voxgrad::examples
