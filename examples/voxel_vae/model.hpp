#pragma once
// The 3-D convolutional VAE (Kingma & Welling 2014) of the voxel_vae example,
// in two layouts.
//
// layout "default" (width w, latent z; R divisible by 8):
//   encoder  x (N, 1, R, R, R)
//            Conv3d(1 -> w, 4, s2, p1)     -> (N, w, R/2)    act
//            Conv3d(w -> 2w, 4, s2, p1)    -> (N, 2w, R/4)   act
//            Conv3d(2w -> 4w, 4, s2, p1)   -> (N, 4w, R/8)   act
//            Flatten, Linear(-> 2z)        -> mu, logvar (N, z) each
//   decoder  Linear(z -> 4w (R/8)^3), act, Unflatten
//            ConvTranspose3d(4w -> 2w, 4, s2, p1) act
//            ConvTranspose3d(2w -> w, 4, s2, p1)  act
//            ConvTranspose3d(w -> 1, 4, s2, p1)   (logits)
//   The decoder's layers are the adjoints of the encoder's shapes: kernel 4,
//   stride 2, padding 1 maps 2n -> n forward and n -> 2n transposed, and a
//   kernel divisible by the stride overlaps evenly, so it paints no
//   checkerboard (examples/adjointness shows what kernel 3 would do).
//
// layout "brock" (Brock et al. 2016, "Generative and Discriminative Voxel
// Modeling with Convolutional Neural Networks", their VAE.py; 32^3 only):
//   encoder  Conv3d(1 -> 8, 3) 30^3, Conv3d(8 -> 16, 3, s2, p1) 15^3,
//            Conv3d(16 -> 32, 3) 13^3, Conv3d(32 -> 64, 3, s2, p1) 7^3,
//            Linear(-> 343), Linear(-> z) twice (mu, log sigma)
//   decoder  Linear(z -> 343) -> (1, 7, 7, 7), Conv3d(1 -> 64, 3, p1),
//            ConvTranspose3d(64 -> 32, 3, s2) 15^3, Conv3d(32 -> 16, 3, p1),
//            ConvTranspose3d(16 -> 8, 4, s2) 32^3, Conv3d(8 -> 1, 3, p1)
//   with batch norm after every layer (norm "batch") and ELU (act "elu").
//
// act "lrelu" (LeakyReLU 0.2) or "elu"; norm "none" or "batch" (BatchNorm3d
// after every layer but the output, and on the linear layers' features);
// inputs "01" feeds the encoder x as is, "brock" feeds 3x - 1, so voxels
// are {-1, 2} (Brock et al.: larger gradients for the rare positives).

#include <memory>
#include <string>

#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/container.hpp"
#include "voxgrad/nn/module.hpp"

namespace voxgrad::examples {

struct VaeArch {
  int64_t resolution = 32;  // divisible by 8; 32 for layout "brock"
  int64_t width = 16;       // channels of the first conv ("default")
  int64_t latent = 64;
  std::string layout = "default";
  std::string act = "lrelu";
  std::string norm = "none";
  std::string inputs = "01";
};

struct VaeOutput {
  Tensor logits;      // (N, 1, R, R, R)
  Tensor mu, logvar;  // (N, latent)
};

/// The loss terms, averaged over the batch: loss = rec + beta * kl.
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
  /// mu and logvar of q(z | x), x the 0/1 occupancy.
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

/// Reconstruction "bce": binary cross-entropy with logits, summed over
/// voxels. "brock": Brock et al.'s weighted BCE with targets t' = 3t - 1 in
/// {-1, 2} and outputs o = 0.1 + 0.9 sigmoid(logit) in (0.1, 1):
/// -gamma t' log o - (1 - gamma)(1 - t') log(1 - o), summed over voxels,
/// 1 - o kept >= 1e-7 as in Brock's code (else the loss has no minimum).
/// The KL term is to N(0, I), in nats.
VaeLoss vae_loss(
    const VaeOutput& out,
    const Tensor& target,
    double beta,
    const std::string& reconstruction = "bce",
    double gamma = 0.97);

/// Puts a module in eval mode for its lifetime, then back as it was
/// (batch norm uses running statistics in eval).
class EvalMode {
 public:
  explicit EvalMode(nn::Module& m) : m_(m), was_(m.is_training()) {
    m_.eval();
  }
  ~EvalMode() {
    m_.train(was_);
  }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  nn::Module& m_;
  bool was_;
};

}  // namespace voxgrad::examples
