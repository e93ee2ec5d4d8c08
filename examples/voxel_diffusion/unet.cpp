#include "unet.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/functional.hpp"
#include "voxgrad/nn/init.hpp"
#include "voxgrad/nn/pixel_shuffle.hpp"
#include "voxgrad/nn/pooling.hpp"
#include "voxgrad/nn/upsample.hpp"

namespace voxgrad::examples {
namespace {

// The largest divisor of `channels` that is <= max_groups.
int64_t groups_for(int64_t channels, int64_t max_groups) {
  int64_t g = std::min(channels, max_groups);
  while (channels % g != 0)
    --g;
  return g;
}

nn::Conv3d conv3(int64_t in, int64_t out) {
  return nn::Conv3d(nn::Conv3dOptions(in, out, 3).padding(int64_t{1}));
}

// DDPM starts the last layer of each residual branch at zero.
template <class Holder>
Holder zero_init(Holder m) {
  nn::init::zeros_(m->weight());
  nn::init::zeros_(m->bias());
  return m;
}

}  // namespace

std::vector<int64_t> parse_mults(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  const auto bad = [&](const std::string& why) {
    return Error(
        "--mults: expected 1 to 6 comma-separated integers in [1, 64], e.g. "
        "'1,2,2', got '" +
        text + "' (" + why + ")");
  };
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      throw bad("'" + item + "' is not an integer");
    }
    if (used != item.size() || item.empty())
      throw bad("'" + item + "' is not an integer");
    if (v < 1 || v > 64)
      throw bad(item + " is out of range");
    out.push_back(v);
  }
  if (out.empty() || out.size() > 6 || (!text.empty() && text.back() == ','))
    throw bad(std::to_string(out.size()) + " levels");
  return out;
}

std::string mults_text(const std::vector<int64_t>& mults) {
  std::string s;
  for (int64_t m : mults) {
    if (!s.empty())
      s += ',';
    s += std::to_string(m);
  }
  return s;
}

Tensor timestep_embedding(const Tensor& t, int64_t dim) {
  VOXGRAD_CHECK(
      dim >= 4 && dim % 2 == 0,
      "timestep_embedding: dim must be even and >= 4 (got ", dim, ")");
  VOXGRAD_CHECK(
      t.defined() && t.dim() == 1 && is_floating_point(t.dtype()),
      "timestep_embedding: expected timesteps (N,) of a floating dtype, got ",
      t.defined() ? shape_str(t.shape()) + " " + dtype_name(t.dtype())
                  : std::string("undefined"));
  const std::vector<double> ts = t.to(kFloat64).to_vector<double>();
  const int64_t half = dim / 2;
  std::vector<double> e(ts.size() * static_cast<size_t>(dim));
  for (size_t n = 0; n < ts.size(); ++n)
    for (int64_t i = 0; i < half; ++i) {
      const double w = std::exp(
          -std::log(10000.0) * static_cast<double>(i) /
          static_cast<double>(half - 1));
      e[n * static_cast<size_t>(dim) + static_cast<size_t>(i)] =
          std::sin(ts[n] * w);
      e[n * static_cast<size_t>(dim) + static_cast<size_t>(half + i)] =
          std::cos(ts[n] * w);
    }
  return tensor(e, {t.size(0), dim}, t.dtype());
}

// ---- ResBlock ---------------------------------------------------------------

ResBlockImpl::ResBlockImpl(
    int64_t in, int64_t out, int64_t emb_dim, int64_t groups) {
  norm1_ = register_module("norm1", nn::GroupNorm(groups_for(in, groups), in));
  conv1_ = register_module("conv1", conv3(in, out));
  emb_proj_ = register_module("emb_proj", nn::Linear(emb_dim, out));
  norm2_ =
      register_module("norm2", nn::GroupNorm(groups_for(out, groups), out));
  conv2_ = register_module("conv2", zero_init(conv3(out, out)));
  if (in != out)
    skip_ = register_module("skip", nn::Conv3d(nn::Conv3dOptions(in, out, 1)));
}

Tensor ResBlockImpl::forward(const Tensor& x, const Tensor& emb) {
  Tensor h = conv1_(silu(norm1_(x)));
  const Tensor e = emb_proj_(silu(emb));
  h = h + e.reshape({e.size(0), e.size(1), 1, 1, 1});
  h = conv2_(silu(norm2_(h)));
  return (skip_ ? skip_(x) : x) + h;
}

// ---- Downsample / Upsample --------------------------------------------------

DownsampleImpl::DownsampleImpl(int64_t channels, const std::string& mode) {
  VOXGRAD_CHECK(
      mode == "conv" || mode == "pool",
      "Downsample: mode must be 'conv' or 'pool' (got '", mode, "')");
  if (mode == "conv")
    conv_ = register_module(
        "conv", nn::Conv3d(nn::Conv3dOptions(channels, channels, 3)
                               .stride(2)
                               .padding(int64_t{1})));
}

Tensor DownsampleImpl::forward(const Tensor& x) {
  return conv_ ? conv_(x) : F::avg_pool3d(x, F::AvgPool3dFuncOptions(2));
}

UpsampleImpl::UpsampleImpl(int64_t channels, const std::string& mode) {
  VOXGRAD_CHECK(
      mode == "transposed" || mode == "nearest",
      "Upsample: mode must be 'transposed' or 'nearest' (got '", mode, "')");
  if (mode == "transposed")
    up_ = register_module(
        "up",
        nn::ConvTranspose3d(nn::ConvTranspose3dOptions(channels, channels, 4)
                                .stride(2)
                                .padding(1)));
  else
    conv_ = register_module("conv", conv3(channels, channels));
}

Tensor UpsampleImpl::forward(const Tensor& x) {
  if (up_)
    return up_(x);
  return conv_(F::interpolate(
      x,
      nn::UpsampleOptions().scale_factor(2.0).mode(nn::UpsampleMode::Nearest)));
}

// ---- AttentionBlock ---------------------------------------------------------

AttentionBlockImpl::AttentionBlockImpl(
    int64_t channels, int64_t heads, int64_t groups) {
  VOXGRAD_CHECK(
      heads >= 1 && channels % heads == 0, "AttentionBlock: channels (",
      channels, ") must be a multiple of heads (", heads, ")");
  norm_ = register_module(
      "norm", nn::GroupNorm(groups_for(channels, groups), channels));
  attn_ = register_module(
      "attn",
      nn::MultiheadAttention(
          nn::MultiheadAttentionOptions(channels, heads).batch_first(true)));
  zero_init(nn::Linear(attn_->out_proj()));
}

Tensor AttentionBlockImpl::forward(const Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1);
  const int64_t s = x.size(2) * x.size(3) * x.size(4);
  // (N, C, D, H, W) -> tokens (N, S, C) -> back.
  const Tensor tokens = norm_(x).reshape({n, c, s}).transpose(1, 2);
  const Tensor h = std::get<0>(
      attn_(tokens, tokens, tokens, Tensor(), /*need_weights=*/false));
  return x + h.transpose(1, 2).reshape(x.shape());
}

// ---- UNet3d -----------------------------------------------------------------

UNet3dImpl::UNet3dImpl(const UNetArch& a) : arch_(a) {
  const auto levels = static_cast<int64_t>(a.mults.size());
  VOXGRAD_CHECK(
      levels >= 1 && levels <= 6,
      "UNet3d: 1 to 6 levels (mults) expected, got ", levels);
  VOXGRAD_CHECK(
      a.patch >= 1 && a.patch <= 4 && a.resolution >= 1 &&
          a.resolution % a.patch == 0,
      "UNet3d: patch (", a.patch,
      ") must be in [1, 4] and divide the "
      "resolution (",
      a.resolution, ")");
  const int64_t inner = a.resolution / a.patch,
                down = int64_t{1} << (levels - 1);
  VOXGRAD_CHECK(
      inner % down == 0, "UNet3d: resolution / patch (", inner,
      ") must be divisible by 2^(levels - 1) = ", down, " for ", levels,
      " levels");
  VOXGRAD_CHECK(
      a.width >= 1 && a.width <= 1024 && a.width % 2 == 0,
      "UNet3d: width must be even and in [2, 1024] (got ", a.width, ")");
  VOXGRAD_CHECK(
      a.blocks >= 1 && a.blocks <= 8, "UNet3d: blocks must be in [1, 8] (got ",
      a.blocks, ")");
  VOXGRAD_CHECK(
      a.groups >= 1, "UNet3d: groups must be >= 1 (got ", a.groups, ")");
  VOXGRAD_CHECK(
      a.num_classes >= 0 && a.num_classes <= 100000,
      "UNet3d: num_classes must be in [0, 100000] (got ", a.num_classes, ")");
  for (int64_t m : a.mults)
    VOXGRAD_CHECK(
        m >= 1 && m <= 64,
        "UNet3d: channel multipliers must be in [1, 64] "
        "(got ",
        m, ")");
  const int64_t emb = 4 * a.width, cells = a.patch * a.patch * a.patch;
  temb1_ = register_module("temb1", nn::Linear(a.width, emb));
  temb2_ = register_module("temb2", nn::Linear(emb, emb));
  if (a.num_classes > 0)
    label_emb_ =
        register_module("label_emb", nn::Embedding(a.num_classes, emb));
  conv_in_ = register_module("conv_in", conv3(cells, a.width));
  int64_t ch = a.width;
  std::vector<int64_t> skip_ch;
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t out = a.width * a.mults[static_cast<size_t>(l)];
    for (int64_t b = 0; b < a.blocks; ++b) {
      down_blocks_.push_back(register_module(
          "down" + std::to_string(l) + "_" + std::to_string(b),
          ResBlock(ch, out, emb, a.groups)));
      ch = out;
    }
    skip_ch.push_back(ch);
    if (l + 1 < levels)
      downs_.push_back(register_module(
          "downsample" + std::to_string(l), Downsample(ch, a.downsample)));
  }
  mid1_ = register_module("mid1", ResBlock(ch, ch, emb, a.groups));
  attn_ = register_module("attn", AttentionBlock(ch, a.heads, a.groups));
  mid2_ = register_module("mid2", ResBlock(ch, ch, emb, a.groups));
  for (int64_t l = levels - 1; l >= 0; --l) {
    const int64_t out = a.width * a.mults[static_cast<size_t>(l)];
    ch += skip_ch[static_cast<size_t>(l)];
    for (int64_t b = 0; b < a.blocks; ++b) {
      up_blocks_.push_back(register_module(
          "up" + std::to_string(l) + "_" + std::to_string(b),
          ResBlock(ch, out, emb, a.groups)));
      ch = out;
    }
    if (l > 0)
      ups_.push_back(register_module(
          "upsample" + std::to_string(l), Upsample(ch, a.upsample)));
  }
  norm_out_ =
      register_module("norm_out", nn::GroupNorm(groups_for(ch, a.groups), ch));
  conv_out_ = register_module("conv_out", zero_init(conv3(ch, cells)));
}

Tensor UNet3dImpl::forward(
    const Tensor& x, const Tensor& t, const Tensor& labels) {
  const int64_t r = arch_.resolution;
  VOXGRAD_CHECK(
      x.defined() && x.dim() == 5 && x.size(0) >= 1 && x.size(1) == 1 &&
          x.size(2) == r && x.size(3) == r && x.size(4) == r,
      "UNet3d: expected x of shape (N, 1, ", r, ", ", r, ", ", r, "), got ",
      x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  VOXGRAD_CHECK(
      t.defined() && t.dim() == 1 && t.size(0) == x.size(0) &&
          t.dtype() == x.dtype(),
      "UNet3d: expected timesteps t of shape (", x.size(0), ") and dtype ",
      dtype_name(x.dtype()), ", got ",
      t.defined() ? shape_str(t.shape()) + " " + dtype_name(t.dtype())
                  : std::string("undefined"));
  Tensor emb = temb2_(silu(temb1_(timestep_embedding(t, arch_.width))));
  if (arch_.num_classes > 0) {
    VOXGRAD_CHECK(
        labels.defined() && labels.dim() == 1 && labels.size(0) == x.size(0) &&
            labels.dtype() == kInt64,
        "UNet3d: a class-conditional network needs labels (", x.size(0),
        ",) int64 in [0, ", arch_.num_classes, "), got ",
        labels.defined()
            ? shape_str(labels.shape()) + " " + dtype_name(labels.dtype())
            : std::string("none"));
    emb = emb + label_emb_(labels);
  } else {
    VOXGRAD_CHECK(
        !labels.defined(),
        "UNet3d: labels given to an unconditional network (num_classes 0)");
  }
  Tensor h = x;
  if (arch_.patch > 1)
    h = F::pixel_unshuffle3d(h, arch_.patch);
  h = conv_in_(h);
  const auto levels = static_cast<int64_t>(arch_.mults.size());
  std::vector<Tensor> skips;
  size_t block = 0;
  for (int64_t l = 0; l < levels; ++l) {
    for (int64_t b = 0; b < arch_.blocks; ++b)
      h = down_blocks_[block++](h, emb);
    skips.push_back(h);
    if (l + 1 < levels)
      h = downs_[static_cast<size_t>(l)](h);
  }
  h = mid2_(attn_(mid1_(h, emb)), emb);
  block = 0;
  size_t up = 0;
  for (int64_t l = levels - 1; l >= 0; --l) {
    h = cat({h, skips[static_cast<size_t>(l)]}, 1);
    for (int64_t b = 0; b < arch_.blocks; ++b)
      h = up_blocks_[block++](h, emb);
    if (l > 0)
      h = ups_[up++](h);
  }
  h = conv_out_(silu(norm_out_(h)));
  if (arch_.patch > 1)
    h = F::pixel_shuffle3d(h, arch_.patch);
  return h;
}

}  // namespace voxgrad::examples
