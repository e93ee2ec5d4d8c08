#include "voxgrad/nn/pixel_shuffle.hpp"

#include "voxgrad/core/checked.hpp"

namespace voxgrad::nn {

namespace {

void check_factor(int64_t r, const char* who, const char* what) {
  VOXGRAD_CHECK(r >= 1, who, ": ", what, " must be >= 1 (got ", r, ")");
}

void check_input(const Tensor& x, const char* who) {
  VOXGRAD_CHECK(x.defined(), who, ": the input is undefined");
  VOXGRAD_CHECK(
      x.dim() >= 4, who, ": expected an input (*, C, D, H, W) of at least 4 ",
      "dimensions, got ", shape_str(x.shape()));
}

}  // namespace

PixelShuffle3dImpl::PixelShuffle3dImpl(const PixelShuffle3dOptions& options)
    : options_(options) {
  check_factor(options.upscale_factor(), "PixelShuffle3d", "upscale_factor");
}

Tensor PixelShuffle3dImpl::forward(const Tensor& x) {
  return functional::pixel_shuffle3d(x, options_);
}

std::string PixelShuffle3dImpl::extra_repr() const {
  return "upscale_factor=" + std::to_string(options_.upscale_factor());
}

PixelUnshuffle3dImpl::PixelUnshuffle3dImpl(
    const PixelUnshuffle3dOptions& options)
    : options_(options) {
  check_factor(
      options.downscale_factor(), "PixelUnshuffle3d", "downscale_factor");
}

Tensor PixelUnshuffle3dImpl::forward(const Tensor& x) {
  return functional::pixel_unshuffle3d(x, options_);
}

std::string PixelUnshuffle3dImpl::extra_repr() const {
  return "downscale_factor=" + std::to_string(options_.downscale_factor());
}

namespace functional {

// NOTE [ PixelShuffle3d channel order ] in voxgrad/nn/pixel_shuffle.hpp.
Tensor pixel_shuffle3d(
    const Tensor& x, const PixelShuffle3dFuncOptions& options) {
  constexpr const char* op = "pixel_shuffle3d";
  const int64_t r = options.upscale_factor();
  check_factor(r, op, "upscale_factor");
  check_input(x, op);
  const int64_t r3 = checked::mul(
      checked::mul(r, r, op, "upscale_factor^3"), r, op, "upscale_factor^3");
  const int64_t b = x.dim() - 4;  // leading batch axes
  const Shape& s = x.shape();
  const int64_t c_in = s[static_cast<size_t>(b)];
  VOXGRAD_CHECK(
      c_in % r3 == 0, op, ": the input's channels (axis ", b, ", ", c_in,
      ") must be divisible by upscale_factor^3 = ", r3, "; input ",
      shape_str(s));
  const int64_t d = s[static_cast<size_t>(b + 1)],
                h = s[static_cast<size_t>(b + 2)],
                w = s[static_cast<size_t>(b + 3)];
  Shape split(s.begin(), s.begin() + b);
  Shape out = split;
  split.insert(split.end(), {c_in / r3, r, r, r, d, h, w});
  out.insert(
      out.end(), {c_in / r3, checked::mul(d, r, op, "output depth"),
                  checked::mul(h, r, op, "output height"),
                  checked::mul(w, r, op, "output width")});
  std::vector<int64_t> perm;
  for (int64_t a = 0; a < b; ++a)
    perm.push_back(a);
  // (C, r_d, r_h, r_w, D, H, W) -> (C, D, r_d, H, r_h, W, r_w)
  for (int64_t a : {0, 4, 1, 5, 2, 6, 3})
    perm.push_back(b + a);
  return x.reshape(split).permute(perm).reshape(out);
}

Tensor pixel_unshuffle3d(
    const Tensor& x, const PixelUnshuffle3dFuncOptions& options) {
  constexpr const char* op = "pixel_unshuffle3d";
  const int64_t r = options.downscale_factor();
  check_factor(r, op, "downscale_factor");
  check_input(x, op);
  const int64_t b = x.dim() - 4;
  const Shape& s = x.shape();
  const int64_t c = s[static_cast<size_t>(b)];
  const int64_t d = s[static_cast<size_t>(b + 1)],
                h = s[static_cast<size_t>(b + 2)],
                w = s[static_cast<size_t>(b + 3)];
  VOXGRAD_CHECK(
      d % r == 0 && h % r == 0 && w % r == 0, op,
      ": the input's spatial extents (D, H, W) = (", d, ", ", h, ", ", w,
      ") must be divisible by downscale_factor ", r, "; input ", shape_str(s));
  const int64_t r3 = checked::mul(
      checked::mul(r, r, op, "downscale_factor^3"), r, op,
      "downscale_factor^3");
  Shape split(s.begin(), s.begin() + b);
  Shape out = split;
  split.insert(split.end(), {c, d / r, r, h / r, r, w / r, r});
  out.insert(
      out.end(),
      {checked::mul(c, r3, op, "output channels"), d / r, h / r, w / r});
  std::vector<int64_t> perm;
  for (int64_t a = 0; a < b; ++a)
    perm.push_back(a);
  // (C, D, r_d, H, r_h, W, r_w) -> (C, r_d, r_h, r_w, D, H, W)
  for (int64_t a : {0, 2, 4, 6, 1, 3, 5})
    perm.push_back(b + a);
  return x.reshape(split).permute(perm).reshape(out);
}

}  // namespace functional
}  // namespace voxgrad::nn
