#include "model.hpp"

#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/activation.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/flatten.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/normalization.hpp"

namespace voxgrad::examples {
namespace {

nn::LeakyReLU lrelu() {
  return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2));
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
    return nn::ConvTranspose3d(
        nn::ConvTranspose3dOptions(in, out, 4).stride(2).padding(1));
  };
  auto down = [](int64_t in, int64_t out) {
    return nn::Conv3d(nn::Conv3dOptions(in, out, 4).stride(2).padding(1));
  };
  auto bn = [](int64_t c) { return nn::BatchNorm3d(c); };
  generator_ = register_module(
      "generator",
      nn::Sequential(
          nn::Linear(arch.latent, flat),
          nn::Unflatten(nn::UnflattenOptions(1, {4 * w, s, s, s})), bn(4 * w),
          nn::ReLU(), up(4 * w, 2 * w), bn(2 * w), nn::ReLU(), up(2 * w, w),
          bn(w), nn::ReLU(), up(w, 1), nn::Sigmoid()));
  critic_ = register_module(
      "critic",
      nn::Sequential(
          down(1, w), lrelu(), down(w, 2 * w), lrelu(), down(2 * w, 4 * w),
          lrelu(), nn::Flatten(), nn::Linear(flat, 1)));
}

}  // namespace voxgrad::examples
