#include "model.hpp"

#include <string>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

namespace {

/// GroupNorm's groups: 4 when they divide the channels (GroupNorm(4, C) as
/// in the 3-D U-Nets of MONAI with few channels), else 1.
int64_t groups_for(int64_t channels) {
  return channels % 4 == 0 ? 4 : 1;
}

}  // namespace

DoubleConvImpl::DoubleConvImpl(int64_t in, int64_t out) {
  conv1_ = register_module(
      "conv1", nn::Conv3d(nn::Conv3dOptions(in, out, 3).padding(1)));
  norm1_ = register_module("norm1", nn::GroupNorm(groups_for(out), out));
  conv2_ = register_module(
      "conv2", nn::Conv3d(nn::Conv3dOptions(out, out, 3).padding(1)));
  norm2_ = register_module("norm2", nn::GroupNorm(groups_for(out), out));
}

Tensor DoubleConvImpl::forward(const Tensor& x) {
  return relu(norm2_(conv2_(relu(norm1_(conv1_(x))))));
}

UNet3dImpl::UNet3dImpl(const UNetArch& arch) : arch_(arch) {
  VOXGRAD_CHECK(
      arch.width >= 1 && arch.levels >= 1 && arch.levels <= 6 &&
          arch.classes >= 2 && arch.in_channels >= 1,
      "UNet3d: need width >= 1, 1 <= levels <= 6, classes >= 2 and "
      "in_channels >= 1 (got width ",
      arch.width, ", levels ", arch.levels, ", classes ", arch.classes,
      ", in_channels ", arch.in_channels, ")");
  int64_t c = arch.width;
  down_.push_back(
      register_module("down0", DoubleConv(arch.in_channels, arch.width)));
  for (int64_t l = 1; l <= arch.levels; ++l) {
    down_.push_back(
        register_module("down" + std::to_string(l), DoubleConv(c, 2 * c)));
    c *= 2;
  }
  for (int64_t l = arch.levels; l >= 1; --l) {
    // c = width * 2^l: up to c / 2 channels, then cat with the skip's c / 2.
    up_.push_back(register_module(
        "up" + std::to_string(l),
        nn::ConvTranspose3d(
            nn::ConvTranspose3dOptions(c, c / 2, 2).stride(2))));
    up_conv_.push_back(
        register_module("up_conv" + std::to_string(l), DoubleConv(c, c / 2)));
    c /= 2;
  }
  pool_ = register_module("pool", nn::MaxPool3d(2));
  head_ = register_module(
      "head", nn::Conv3d(nn::Conv3dOptions(arch.width, arch.classes, 1)));
}

Tensor UNet3dImpl::forward(const Tensor& x) {
  const int64_t m = int64_t{1} << arch_.levels;
  VOXGRAD_CHECK(
      x.dim() == 5 && x.size(1) == arch_.in_channels && x.size(2) % m == 0 &&
          x.size(3) % m == 0 && x.size(4) % m == 0,
      "UNet3d: expected input (N, ", arch_.in_channels,
      ", D, H, W) with D, H, W multiples of 2^levels = ", m, ", got ",
      shape_str(x.shape()));
  std::vector<Tensor> skips;
  Tensor h = down_[0](x);
  for (size_t l = 1; l < down_.size(); ++l) {
    skips.push_back(h);
    h = down_[l](pool_(h));
  }
  for (size_t k = 0; k < up_.size(); ++k) {
    const Tensor& skip = skips[skips.size() - 1 - k];
    h = up_conv_[k](cat({skip, up_[k](h)}, 1));
  }
  return head_(h);
}

}  // namespace voxgrad::examples
