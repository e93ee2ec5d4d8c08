#pragma once
// nn::PixelShuffle3d and nn::PixelUnshuffle3d (sub-voxel convolution, the 3-D
// form of Shi et al. 2016's sub-pixel layer): channels become a finer grid.
// PyTorch 1.13 has only the 2-D op; the 3-D one here generalises its channel
// order, see NOTE [ PixelShuffle3d channel order ]. Compositions of reshape
// and permute, so every derivative exists.
//
// NOTE [ PixelShuffle3d channel order ]
// With upscale factor r, input (*, C r^3, D, H, W) and output
// (*, C, D r, H r, W r):
// ```text
// y[..., c, d r + i, h r + j, w r + k] = x[..., c r^3 + i r^2 + j r + k, d, h, w]
// ```
// i.e. x.reshape(*, C, r, r, r, D, H, W)
// .permute(*, C, D, r_d, H, r_h, W, r_w).reshape(*, C, D r, H r, W r),
// exactly as PyTorch's pixel_shuffle is the (C, r, r, H, W) -> (C, H, r, W, r)
// permutation in 2-D. The sub-position (i, j, k) varies fastest within each
// group of r^3 channels, depth slowest. PixelUnshuffle3d is the inverse.
// nn::init::icnr_ relies on this order.

#include <string>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// PixelShuffle3dOptions(2)
struct PixelShuffle3dOptions {
  /* implicit */ PixelShuffle3dOptions(int64_t upscale_factor)
      : upscale_factor_(upscale_factor) {}
  PixelShuffle3dOptions& upscale_factor(int64_t v) {
    upscale_factor_ = v;
    return *this;
  }
  int64_t upscale_factor() const {
    return upscale_factor_;
  }

 private:
  int64_t upscale_factor_;
};

/// PixelUnshuffle3dOptions(2)
struct PixelUnshuffle3dOptions {
  /* implicit */ PixelUnshuffle3dOptions(int64_t downscale_factor)
      : downscale_factor_(downscale_factor) {}
  PixelUnshuffle3dOptions& downscale_factor(int64_t v) {
    downscale_factor_ = v;
    return *this;
  }
  int64_t downscale_factor() const {
    return downscale_factor_;
  }

 private:
  int64_t downscale_factor_;
};

/// (*, C r^3, D, H, W) -> (*, C, D r, H r, W r).
/// ```cpp
/// nn::PixelShuffle3d up(2);
/// ```
class PixelShuffle3dImpl : public Module {
 public:
  explicit PixelShuffle3dImpl(const PixelShuffle3dOptions& options);
  Tensor forward(const Tensor& x);
  const PixelShuffle3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  PixelShuffle3dOptions options_;
};
VOXGRAD_MODULE(PixelShuffle3d);

/// (*, C, D r, H r, W r) -> (*, C r^3, D, H, W), the inverse.
class PixelUnshuffle3dImpl : public Module {
 public:
  explicit PixelUnshuffle3dImpl(const PixelUnshuffle3dOptions& options);
  Tensor forward(const Tensor& x);
  const PixelUnshuffle3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  PixelUnshuffle3dOptions options_;
};
VOXGRAD_MODULE(PixelUnshuffle3d);

namespace functional {
using PixelShuffle3dFuncOptions = PixelShuffle3dOptions;
using PixelUnshuffle3dFuncOptions = PixelUnshuffle3dOptions;
/// F::pixel_shuffle3d(x, 2)
Tensor pixel_shuffle3d(
    const Tensor& x, const PixelShuffle3dFuncOptions& options);
/// F::pixel_unshuffle3d(x, 2)
Tensor pixel_unshuffle3d(
    const Tensor& x, const PixelUnshuffle3dFuncOptions& options);
}  // namespace functional

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
