#pragma once
// A small 3-D U-Net (Ronneberger et al. 2015; Cicek et al. 2016's 3-D
// version) for per-voxel classification:
//
//   level 0:  DoubleConv(in -> w)  ----------------------- cat -> DoubleConv(2w -> w) -> Conv1x1(w -> classes)
//               | MaxPool3d(2)                              ^ ConvTranspose3d(2w -> w, k2 s2)
//   level 1:  DoubleConv(w -> 2w)  ---------- cat -> DoubleConv(4w -> 2w)
//               | MaxPool3d(2)                  ^ ConvTranspose3d(4w -> 2w, k2 s2)
//   ...       (`levels` poolings; the deepest DoubleConv is the bottleneck)
//
// DoubleConv = (Conv3d k3 p1 -> GroupNorm -> ReLU) x 2. Skip connections
// concatenate the encoder's features with the upsampled ones along the
// channels. The input's extents must be multiples of 2^levels.

#include <cstdint>
#include <vector>

#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/module.hpp"
#include "voxgrad/nn/normalization.hpp"
#include "voxgrad/nn/pooling.hpp"

namespace voxgrad::examples {

struct UNetArch {
  int64_t in_channels = 1;
  int64_t classes = 6;
  int64_t width = 16;  // channels of level 0; level l has width * 2^l
  int64_t levels = 2;  // poolings
};

class DoubleConvImpl : public nn::Module {
 public:
  DoubleConvImpl(int64_t in, int64_t out);
  Tensor forward(const Tensor& x);

 private:
  nn::Conv3d conv1_, conv2_;
  nn::GroupNorm norm1_, norm2_;
};
VOXGRAD_MODULE(DoubleConv);

class UNet3dImpl : public nn::Module {
 public:
  explicit UNet3dImpl(const UNetArch& arch);
  /// x (N, in_channels, D, H, W) -> logits (N, classes, D, H, W).
  Tensor forward(const Tensor& x);
  const UNetArch& arch() const {
    return arch_;
  }

 private:
  UNetArch arch_;
  std::vector<DoubleConv> down_, up_conv_;
  std::vector<nn::ConvTranspose3d> up_;
  nn::MaxPool3d pool_;
  nn::Conv3d head_;
};
VOXGRAD_MODULE(UNet3d);

}  // namespace voxgrad::examples
