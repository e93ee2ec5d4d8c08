#include "model.hpp"

#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/activation.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/flatten.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/normalization.hpp"

namespace voxgrad::examples {
namespace {

std::shared_ptr<nn::Module> lrelu() {
  return std::make_shared<nn::LeakyReLU>(
      nn::LeakyReLUOptions().negative_slope(0.2));
}

}  // namespace

WganGp::WganGp(const GanArch& arch) : arch_(arch) {
  VOXGRAD_CHECK(
      arch.resolution >= 8 && arch.resolution % 8 == 0,
      "WganGp: resolution must be a multiple of 8 (got ", arch.resolution, ")");
  VOXGRAD_CHECK(
      arch.width >= 1 && arch.width <= 256,
      "WganGp: width must be in [1, 256] (got ", arch.width, ")");
  VOXGRAD_CHECK(
      arch.latent >= 1 && arch.latent <= 4096,
      "WganGp: latent must be in [1, 4096] (got ", arch.latent, ")");
  const int64_t w = arch.width, s = arch.resolution / 8;
  const int64_t flat = 4 * w * s * s * s;
  auto up = [](int64_t in, int64_t out) {
    return std::make_shared<nn::ConvTranspose3d>(
        nn::ConvTranspose3dOptions(in, out, 4).stride(2).padding(1));
  };
  auto down = [](int64_t in, int64_t out) {
    return std::make_shared<nn::Conv3d>(
        nn::Conv3dOptions(in, out, 4).stride(2).padding(1));
  };
  auto bn = [](int64_t c) { return std::make_shared<nn::BatchNorm3d>(c); };
  auto relu = [] { return std::make_shared<nn::ReLU>(); };
  generator_ = register_module(
      "generator",
      std::make_shared<nn::Sequential>(
          std::make_shared<nn::Linear>(arch.latent, flat),
          std::make_shared<nn::Unflatten>(
              nn::UnflattenOptions(1, {4 * w, s, s, s})),
          bn(4 * w), relu(), up(4 * w, 2 * w), bn(2 * w), relu(), up(2 * w, w),
          bn(w), relu(), up(w, 1), std::make_shared<nn::Sigmoid>()));
  critic_ = register_module(
      "critic",
      std::make_shared<nn::Sequential>(
          down(1, w), lrelu(), down(w, 2 * w), lrelu(), down(2 * w, 4 * w),
          lrelu(), std::make_shared<nn::Flatten>(),
          std::make_shared<nn::Linear>(flat, 1)));
}

}  // namespace voxgrad::examples
