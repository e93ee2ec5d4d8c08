#pragma once
// 3D-GAN (Wu, Zhang, Xue, Freeman, Tenenbaum 2016, "Learning a Probabilistic
// Latent Space of Object Shapes via 3D Generative-Adversarial Modeling"),
// as the paper and the authors' release (3dgan-release) define it, with
// width w = 64 the paper's channels:
//
//   generator      z (N, 200) -> (N, 200, 1, 1, 1)
//                  ConvTranspose3d(200 -> 8w, 4, s2, p0 | p1)  4^3 | 2^3
//                  ConvTranspose3d(8w -> 4w, 4, s2, p1)        8^3 | 4^3
//                  ConvTranspose3d(4w -> 2w, 4, s2, p1)       16^3 | 8^3
//                  ConvTranspose3d(2w -> w, 4, s2, p1)        32^3 | 16^3
//                  ConvTranspose3d(w -> 1, 4, s2, p1)         64^3 | 32^3
//                  BatchNorm3d + ReLU between layers, sigmoid out
//   discriminator  the mirror: Conv3d(1 -> w, 4, s2, p1) ... Conv3d(8w -> 1,
//                  4, s2, p0 | p1) -> (N, 1, 1, 1, 1), BatchNorm3d +
//                  LeakyReLU(0.2) between layers, sigmoid out (returned as
//                  a logit: the loss takes BCE with logits, the same value
//                  computed without overflow)
//
// The first column is the paper's 64^3; the second, the --res 32 variant,
// differs only in the padding of the first and last layers (as the common
// PyTorch port does). Convolutions have no bias: the release removes it
// ("convolution bias is removed during training"), batch norm's shift
// takes its place.

#include <memory>

#include "voxgrad/nn/container.hpp"
#include "voxgrad/nn/module.hpp"

namespace voxgrad::examples {

struct Gan3dArch {
  int64_t resolution = 64;  // 64 (paper) or 32
  int64_t width = 64;       // w: channels 8w, 4w, 2w, w
  int64_t latent = 200;
};

/// Generator and discriminator under one module ("generator.*",
/// "discriminator.*"), so one checkpoint holds both.
class Gan3d : public nn::Module {
 public:
  explicit Gan3d(const Gan3dArch& arch);
  std::string name() const override {
    return "Gan3d";
  }
  const Gan3dArch& arch() const {
    return arch_;
  }
  /// Occupancy probabilities (N, 1, R, R, R) of latents (N, latent).
  Tensor generate(const Tensor& z);
  /// Logits (N, 1) that volumes (N, 1, R, R, R) are real.
  Tensor discriminate(const Tensor& x);
  nn::Module& generator() {
    return *generator_;
  }
  nn::Module& discriminator() {
    return *discriminator_;
  }

 private:
  Gan3dArch arch_;
  nn::Sequential generator_, discriminator_;
};

}  // namespace voxgrad::examples
