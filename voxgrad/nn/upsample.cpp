#include "voxgrad/nn/upsample.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/core/checked.hpp"

namespace voxgrad::nn {

namespace {

template <class V>
std::string list_str(const std::vector<V>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

/// Checks the options alone (no input); `who` names the caller in errors.
void check_options(const UpsampleOptions& o, const char* who) {
  VOXGRAD_CHECK(
      o.size().has_value() != o.scale_factor().has_value(), who,
      ": set exactly one of size and scale_factor (got ",
      o.size() ? "both" : "neither", ")");
  if (o.size()) {
    const auto& s = *o.size();
    bool ok = s.size() == 1 || s.size() == 3;
    for (int64_t v : s)
      ok = ok && v >= 1;
    VOXGRAD_CHECK(
        ok, who, ": size must be 1 or 3 extents, each >= 1 (got ", list_str(s),
        ")");
  } else {
    const auto& s = *o.scale_factor();
    bool ok = s.size() == 1 || s.size() == 3;
    for (double v : s)
      ok = ok && std::isfinite(v) && v > 0;
    VOXGRAD_CHECK(
        ok, who, ": scale_factor must be 1 or 3 finite values > 0 (got ",
        list_str(s), ")");
  }
  VOXGRAD_CHECK(
      o.mode() == UpsampleMode::Trilinear || !o.align_corners().has_value(),
      who, ": align_corners can only be set with mode trilinear (got mode ",
      mode_name(o.mode()), ", align_corners ",
      o.align_corners().value_or(false) ? "true" : "false", ")");
}

Tensor run(const Tensor& x, const UpsampleOptions& o, const char* who) {
  check_options(o, who);
  VOXGRAD_CHECK(x.defined(), who, ": the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 5 && x.size(2) > 0 && x.size(3) > 0 && x.size(4) > 0, who,
      ": expected a 5-D input (N, C, D, H, W) with D, H, W >= 1, got ",
      shape_str(x.shape()));
  Size3 out{};
  Scales3 scales{};
  for (size_t a = 0; a < 3; ++a) {
    if (o.size()) {
      out[a] = (*o.size())[o.size()->size() == 1 ? 0 : a];
    } else {
      const double s =
          (*o.scale_factor())[o.scale_factor()->size() == 1 ? 0 : a];
      // Python's math.floor(float(in) * scale).
      out[a] = checked::to_int64(
          std::floor(
              static_cast<double>(x.size(static_cast<int64_t>(a) + 2)) * s),
          who, "output size (floor(input size * scale_factor))");
      scales[a] = s;
    }
  }
  VOXGRAD_CHECK(
      out[0] >= 1 && out[1] >= 1 && out[2] >= 1, who, ": the output size ",
      shape_str({out[0], out[1], out[2]}), " (input ", shape_str(x.shape()),
      ", scale_factor ",
      o.scale_factor() ? list_str(*o.scale_factor()) : "unset",
      ") must be >= 1 on every axis");
  if (o.mode() == UpsampleMode::Nearest)
    return upsample_nearest3d(x, out, scales);
  return upsample_trilinear3d(
      x, out, o.align_corners().value_or(false), scales);
}

}  // namespace

const char* mode_name(UpsampleMode mode) {
  return mode == UpsampleMode::Nearest ? "nearest" : "trilinear";
}

UpsampleImpl::UpsampleImpl(const UpsampleOptions& options) : options_(options) {
  check_options(options, "Upsample");
}

Tensor UpsampleImpl::forward(const Tensor& x) {
  return run(x, options_, "Upsample");
}

std::string UpsampleImpl::extra_repr() const {
  std::ostringstream os;
  if (options_.scale_factor())
    os << "scale_factor=" << list_str(*options_.scale_factor());
  else
    os << "size=" << list_str(*options_.size());
  os << ", mode=" << mode_name(options_.mode());
  if (options_.align_corners())
    os << ", align_corners=" << (*options_.align_corners() ? "true" : "false");
  return os.str();
}

namespace functional {
Tensor interpolate(const Tensor& x, const UpsampleOptions& options) {
  return run(x, options, "interpolate");
}
}  // namespace functional

}  // namespace voxgrad::nn
