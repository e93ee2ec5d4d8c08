#pragma once
// The 3-D convolutional VAE (Kingma & Welling 2014) of the voxel_vae example.
//
//   encoder  x (N, 1, 32, 32, 32)
//            Conv3d(1 -> w, 4, s2, p1)     -> (N, w, 16^3)   LeakyReLU
//            Conv3d(w -> 2w, 4, s2, p1)    -> (N, 2w, 8^3)   LeakyReLU
//            Conv3d(2w -> 4w, 4, s2, p1)   -> (N, 4w, 4^3)   LeakyReLU
//            Flatten, Linear(64*4w -> 2z)  -> mu, logvar (N, z) each
//   decoder  Linear(z -> 64*4w), LeakyReLU, Unflatten -> (N, 4w, 4^3)
//            ConvTranspose3d(4w -> 2w, 4, s2, p1) -> 8^3     LeakyReLU
//            ConvTranspose3d(2w -> w, 4, s2, p1)  -> 16^3    LeakyReLU
//            ConvTranspose3d(w -> 1, 4, s2, p1)   -> 32^3    (logits)
//
// The decoder's layers are the adjoints of the encoder's shapes: kernel 4,
// stride 2, padding 1 maps 2n -> n forward and n -> 2n transposed, and a
// kernel divisible by the stride overlaps evenly, so it paints no
// checkerboard (examples/adjointness shows what kernel 3 would do).

#include <memory>

#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/container.hpp"
#include "voxgrad/nn/module.hpp"

namespace voxgrad::examples {

struct VaeArch {
  int64_t resolution = 32;  // divisible by 8
  int64_t width = 16;       // channels of the first conv
  int64_t latent = 64;
};

struct VaeOutput {
  Tensor logits;      // (N, 1, R, R, R)
  Tensor mu, logvar;  // (N, latent)
};

/// Reconstruction (BCE with logits summed over voxels), KL to N(0, I), both
/// averaged over the batch; loss = rec + beta * kl.
struct VaeLoss {
  Tensor loss, rec, kl;
};

class VoxelVAE : public nn::Module {
 public:
  /// Checks the architecture (naming the field, value and rule) and
  /// initialises every layer from the default generator.
  explicit VoxelVAE(const VaeArch& arch);
  std::string name() const override {
    return "VoxelVAE";
  }
  const VaeArch& arch() const {
    return arch_;
  }
  /// mu and logvar of q(z | x).
  std::pair<Tensor, Tensor> encode(const Tensor& x);
  /// Logits of p(x | z).
  Tensor decode(const Tensor& z);
  /// The deterministic reconstruction: logits of decode(mu(x)).
  Tensor forward(const Tensor& x);
  /// Encodes, samples z = mu + exp(logvar / 2) * eps with the given noise
  /// eps (N, latent), decodes: the training pass.
  VaeOutput forward(const Tensor& x, const Tensor& eps);

 private:
  VaeArch arch_;
  nn::Sequential encoder_, decoder_;
};

VaeLoss vae_loss(const VaeOutput& out, const Tensor& target, double beta);

}  // namespace voxgrad::examples
