#pragma once
// Parameter initialisation, as torch.nn.init. Every function fills the tensor
// in place (under NoGradGuard) from the given generator (default: the global
// one) and returns it.
//
// Fans follow PyTorch: for a 2-D (out, in) weight fan_in = in, fan_out = out;
// for (a, b, k...) weights fan_in = b * prod(k), fan_out = a * prod(k). The
// 6-D grouped conv weights of voxgrad's layout (g, a/g, b, k...) count as
// the 5-D PyTorch weight (a, b, k...) they are a view of:
// fan_in = b * prod(k), fan_out = a * prod(k).

#include <functional>
#include <string>

#include "voxgrad/core/random.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn::init {

/// A weight's fan_in and fan_out, as PyTorch computes them.
struct Fans {
  int64_t fan_in = 0;
  int64_t fan_out = 0;
};
/// Fans of a weight of at least 2 dimensions (see above).
Fans calculate_fans(const Tensor& w);

/// Recommended gain for a nonlinearity: "linear", "conv3d", "sigmoid",
/// "tanh" (5/3), "relu" (sqrt 2), "leaky_relu" (sqrt(2 / (1 + param^2))),
/// "selu" (3/4).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

enum class FanMode { FanIn, FanOut };

Tensor uniform_(
    Tensor w, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor normal_(
    Tensor w, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
Tensor constant_(Tensor w, double value);
Tensor zeros_(Tensor w);
Tensor ones_(Tensor w);
/// U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor w, double gain = 1.0, Generator* gen = nullptr);
/// N(0, std), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor w, double gain = 1.0, Generator* gen = nullptr);
/// U(-b, b), b = gain(nonlinearity, a) * sqrt(3 / fan). With a = sqrt(5) and
/// leaky_relu this is PyTorch's default Conv/Linear weight init,
/// b = 1 / sqrt(fan_in).
Tensor kaiming_uniform_(
    Tensor w,
    double a = 0.0,
    FanMode mode = FanMode::FanIn,
    const std::string& nonlinearity = "leaky_relu",
    Generator* gen = nullptr);
/// N(0, std), std = gain(nonlinearity, a) / sqrt(fan).
Tensor kaiming_normal_(
    Tensor w,
    double a = 0.0,
    FanMode mode = FanMode::FanIn,
    const std::string& nonlinearity = "leaky_relu",
    Generator* gen = nullptr);

/// ICNR (Aitken et al. 2017, "Checkerboard artifact free sub-pixel
/// convolution, a note on sub-pixel convolution, resize convolution and
/// convolution resize") for a conv weight (C_out, C_in, k...) or grouped
/// (g, C_out/g, C_in/g, k...) feeding PixelShuffle3d(r): fills a sub-kernel of
/// C_out / r^3 output channels with `init`, then gives output channel o the
/// sub-kernel o / r^3. The r^3 channels PixelShuffle3d spreads over one
/// r x r x r block (NOTE [ PixelShuffle3d channel order ]) are then equal, so
/// conv + shuffle starts as nearest-neighbour upsampling of a conv: no
/// checkerboard. Needs C_out/g divisible by r^3. A conv bias would differ
/// across the r^3 channels: build the conv without one, or zero it.
/// ```cpp
/// nn::init::icnr_(conv->weight(), 2);
/// ```
Tensor icnr_(
    Tensor w,
    const std::function<void(Tensor)>& init,
    int64_t upscale_factor = 2);
/// icnr_ with kaiming_normal_ (fan_in, gain sqrt(2), fastai's choice) drawn
/// from `gen` for the sub-kernel.
Tensor icnr_(Tensor w, int64_t upscale_factor = 2, Generator* gen = nullptr);

}  // namespace voxgrad::nn::init

VOXGRAD_PUBLIC_END
