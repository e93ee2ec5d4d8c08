#pragma once
// The noise-prediction network of voxel_diffusion: a 3-D U-Net in the form
// of DDPM's (Ho et al. 2020; their diffusion_tf/models/unet.py), scaled
// down for voxels on a CPU.
//
//   x (N, 1, R, R, R), t (N,)
//   [PixelUnshuffle3d(p): (N, p^3, R/p, ...) when patch p > 1]
//   conv_in 3^3 -> width channels
//   level l = 0 .. L-1 at resolution R/p/2^l, channels width * mults[l]:
//     blocks x ResBlock; keep the output as a skip; then Downsample
//     (Conv3d k3 s2, or avg_pool3d 2) except at the lowest level
//   middle: ResBlock, self-attention over the (R/p/2^(L-1))^3 voxels,
//           ResBlock
//   level l = L-1 .. 0: concatenate the skip of level l, blocks x
//     ResBlock, then Upsample (ConvTranspose3d k4 s2 p1, or nearest x2 +
//     Conv3d k3) except at level 0
//   GroupNorm, SiLU, conv_out 3^3 -> p^3 channels [PixelShuffle3d(p)]
//
//   ResBlock(x, emb): h = conv1(SiLU(GroupNorm(x)))
//                     h = h + Linear(SiLU(emb)) (per channel)
//                     h = conv2(SiLU(GroupNorm(h)))
//                     return skip(x) + h   (skip: 1^3 conv if C changes)
//   emb = Linear(SiLU(Linear(sinusoidal(t))))  (width -> 4 width -> 4 width)
//
// As in DDPM, the last convolution of each residual branch, of the
// attention block and of the network start at zero: every block begins as
// the identity and the network's first prediction is 0. GroupNorm takes
// min(32, C) groups as DDPM's, capped at `groups`.

#include <cstdint>
#include <string>
#include <vector>

#include "voxgrad/nn/attention.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/embedding.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/module.hpp"
#include "voxgrad/nn/normalization.hpp"

namespace voxgrad::examples {

struct UNetArch {
  int64_t resolution = 32;  // R: voxels per side of x
  int64_t patch = 2;        // p: R/p voxels per side inside the network
  int64_t width = 32;       // channels of level 0
  std::vector<int64_t> mults{1, 2, 2};  // channels per level / width
  int64_t blocks = 1;                   // ResBlocks per level and direction
  int64_t heads = 4;                    // attention heads in the middle
  int64_t groups = 8;                   // most GroupNorm groups
  std::string downsample = "conv";      // conv | pool
  std::string upsample = "transposed";  // transposed | nearest
  int64_t num_classes = 0;  // > 0: class-conditional (label embedding)
};

/// "1,2,2" -> {1, 2, 2}; each multiplier in [1, 64], 1 to 6 levels; errors
/// name the flag and the rule.
std::vector<int64_t> parse_mults(const std::string& text);
std::string mults_text(const std::vector<int64_t>& mults);

/// DDPM's get_timestep_embedding: for timesteps t (N,), (N, dim) with
/// sin(t w_i) in the first half and cos(t w_i) in the second,
/// w_i = 10000^(-i / (dim/2 - 1)). dim even and >= 4.
Tensor timestep_embedding(const Tensor& t, int64_t dim);

class ResBlockImpl : public nn::Module {
 public:
  ResBlockImpl(int64_t in, int64_t out, int64_t emb_dim, int64_t groups);
  Tensor forward(const Tensor& x, const Tensor& emb);

 private:
  nn::GroupNorm norm1_ = nullptr, norm2_ = nullptr;
  nn::Conv3d conv1_ = nullptr, conv2_ = nullptr, skip_ = nullptr;
  nn::Linear emb_proj_ = nullptr;
};
VOXGRAD_MODULE(ResBlock);

/// Halves the resolution: Conv3d(C, C, 3, stride 2, padding 1) ("conv") or
/// avg_pool3d(2) ("pool"). Even sizes only.
class DownsampleImpl : public nn::Module {
 public:
  DownsampleImpl(int64_t channels, const std::string& mode);
  Tensor forward(const Tensor& x);

 private:
  nn::Conv3d conv_ = nullptr;  // null for "pool"
};
VOXGRAD_MODULE(Downsample);

/// Doubles the resolution: ConvTranspose3d(C, C, 4, stride 2, padding 1)
/// ("transposed") or nearest x2 then Conv3d(C, C, 3, padding 1) ("nearest",
/// free of the transposed convolution's checkerboard).
class UpsampleImpl : public nn::Module {
 public:
  UpsampleImpl(int64_t channels, const std::string& mode);
  Tensor forward(const Tensor& x);

 private:
  nn::ConvTranspose3d up_ = nullptr;
  nn::Conv3d conv_ = nullptr;
};
VOXGRAD_MODULE(Upsample);

/// GroupNorm, multi-head self-attention (nn::MultiheadAttention, batch
/// first) over the voxels of (N, C, D, H, W), and a residual connection
/// around both; the attention's output projection starts at zero.
class AttentionBlockImpl : public nn::Module {
 public:
  AttentionBlockImpl(int64_t channels, int64_t heads, int64_t groups);
  Tensor forward(const Tensor& x);

 private:
  nn::GroupNorm norm_ = nullptr;
  nn::MultiheadAttention attn_ = nullptr;
};
VOXGRAD_MODULE(AttentionBlock);

class UNet3dImpl : public nn::Module {
 public:
  explicit UNet3dImpl(const UNetArch& arch);
  /// Predicted noise (N, 1, R, R, R) for x_t (N, 1, R, R, R) at timesteps
  /// t (N,) of x's dtype; `labels` (N,) int64 in [0, num_classes) for a
  /// class-conditional network (then required), else undefined.
  Tensor forward(const Tensor& x, const Tensor& t, const Tensor& labels = {});
  const UNetArch& arch() const {
    return arch_;
  }

 private:
  UNetArch arch_;
  nn::Linear temb1_ = nullptr, temb2_ = nullptr;
  nn::Embedding label_emb_ = nullptr;
  nn::Conv3d conv_in_ = nullptr, conv_out_ = nullptr;
  nn::GroupNorm norm_out_ = nullptr;
  std::vector<ResBlock> down_blocks_, up_blocks_;  // [level][block] flattened
  std::vector<Downsample> downs_;                  // between levels
  std::vector<Upsample> ups_;
  ResBlock mid1_ = nullptr, mid2_ = nullptr;
  AttentionBlock attn_ = nullptr;
};
VOXGRAD_MODULE(UNet3d);

}  // namespace voxgrad::examples
