#pragma once
// The generator and critic of the voxel WGAN-GP (Gulrajani et al. 2017,
// "Improved Training of Wasserstein GANs"), for R^3 occupancy grids, R a
// multiple of 8:
//
//   generator  z (N, latent) -> Linear -> (N, 4w, R/8, R/8, R/8), BN, ReLU
//              ConvTranspose3d(4w -> 2w, 4, s2, p1), BN, ReLU
//              ConvTranspose3d(2w -> w, 4, s2, p1), BN, ReLU
//              ConvTranspose3d(w -> 1, 4, s2, p1), sigmoid -> (N, 1, R, R, R)
//   critic     Conv3d(1 -> w, 4, s2, p1), LeakyReLU(0.2)
//              Conv3d(w -> 2w, 4, s2, p1), LeakyReLU(0.2)
//              Conv3d(2w -> 4w, 4, s2, p1), LeakyReLU(0.2)
//              Flatten, Linear(-> 1): a score, not a probability
//
// Batch normalisation in the generator (DCGAN's recipe; without it the
// ReLU generator collapsed to empty volumes within a few hundred steps), none
// in the critic: the gradient penalty is taken per sample, which batch
// statistics would couple (the paper's advice). Pictures are drawn in eval
// mode, from the running statistics.

#include <memory>

#include "voxgrad/nn/container.hpp"
#include "voxgrad/nn/module.hpp"

namespace voxgrad::examples {

struct GanArch {
  int64_t resolution = 16;
  int64_t width = 16;
  int64_t latent = 64;
};

/// Both networks under one module ("generator.*", "critic.*"), so one
/// checkpoint holds them.
class WganGp : public nn::Module {
 public:
  /// Checks the architecture and initialises from the default generator.
  explicit WganGp(const GanArch& arch);
  std::string name() const override {
    return "WganGp";
  }
  const GanArch& arch() const {
    return arch_;
  }
  /// Occupancy probabilities (N, 1, R, R, R) of latents z (N, latent).
  Tensor generate(const Tensor& z) {
    return generator_(z);
  }
  /// Scores (N, 1) of volumes (N, 1, R, R, R).
  Tensor critique(const Tensor& x) {
    return critic_(x);
  }
  nn::Module& generator() {
    return *generator_;
  }
  nn::Module& critic() {
    return *critic_;
  }

 private:
  GanArch arch_;
  nn::Sequential generator_, critic_;
};

}  // namespace voxgrad::examples
