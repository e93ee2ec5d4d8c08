#include "model.hpp"

#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/activation.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/normalization.hpp"

namespace voxgrad::examples {

Gan3d::Gan3d(const Gan3dArch& arch) : arch_(arch) {
  VOXGRAD_CHECK(
      arch.resolution == 32 || arch.resolution == 64,
      "Gan3d: resolution must be 32 or 64 (got ", arch.resolution, ")");
  VOXGRAD_CHECK(
      arch.width >= 1 && arch.width <= 256,
      "Gan3d: width must be in [1, 256] (got ", arch.width, ")");
  VOXGRAD_CHECK(
      arch.latent >= 1 && arch.latent <= 4096,
      "Gan3d: latent must be in [1, 4096] (got ", arch.latent, ")");
  const int64_t w = arch.width;
  const int64_t edge = arch.resolution == 64 ? 0 : 1;  // first/last padding
  const int64_t ch[5] = {arch.latent, 8 * w, 4 * w, 2 * w, w};
  generator_ = register_module("generator", nn::Sequential());
  for (int i = 0; i < 4; ++i) {
    generator_->push_back(nn::ConvTranspose3d(
        nn::ConvTranspose3dOptions(ch[i], ch[i + 1], 4)
            .stride(2)
            .padding(i == 0 ? edge : 1)
            .bias(false)));
    generator_->push_back(nn::BatchNorm3d(ch[i + 1]));
    generator_->push_back(nn::ReLU());
  }
  generator_->push_back(nn::ConvTranspose3d(
      nn::ConvTranspose3dOptions(w, 1, 4).stride(2).padding(1).bias(false)));
  generator_->push_back(nn::Sigmoid());

  discriminator_ =
      register_module("discriminator", nn::Sequential());
  const int64_t dch[5] = {1, w, 2 * w, 4 * w, 8 * w};
  for (int i = 0; i < 4; ++i) {
    discriminator_->push_back(
        nn::Conv3d(nn::Conv3dOptions(dch[i], dch[i + 1], 4)
                                         .stride(2)
                                         .padding(1)
                                         .bias(false)));
    discriminator_->push_back(nn::BatchNorm3d(dch[i + 1]));
    discriminator_->push_back(nn::LeakyReLU(
        nn::LeakyReLUOptions().negative_slope(0.2)));
  }
  discriminator_->push_back(nn::Conv3d(
      nn::Conv3dOptions(8 * w, 1, 4).stride(2).padding(edge).bias(false)));
}

Tensor Gan3d::generate(const Tensor& z) {
  return generator_(z.reshape({z.size(0), z.size(1), 1, 1, 1}));
}

Tensor Gan3d::discriminate(const Tensor& x) {
  const Tensor y = discriminator_(x);
  return y.reshape({y.size(0), 1});
}

}  // namespace voxgrad::examples
