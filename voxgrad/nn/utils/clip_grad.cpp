#include "voxgrad/nn/utils/clip_grad.hpp"

#include <algorithm>
#include <cmath>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::nn::utils {

double clip_grad_norm_(
    const TensorList& params,
    double max_norm,
    double norm_type,
    bool error_if_nonfinite) {
  VOXGRAD_CHECK(
      max_norm >= 0 && !std::isnan(max_norm),
      "clip_grad_norm_: max_norm must be >= 0 (got ", max_norm, ")");
  VOXGRAD_CHECK(
      norm_type > 0, "clip_grad_norm_: norm_type must be > 0 or infinity (got ",
      norm_type, ")");
  NoGradGuard no_grad;
  TensorList grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined())
      grads.push_back(p.grad());
  if (grads.empty())
    return 0.0;

  const bool inf_norm = std::isinf(norm_type);
  double acc = 0;  // max |g|, or sum |g|^p
  bool saw_nan = false;
  for (const Tensor& g : grads) {
    const Tensor c = g.contiguous();
    dispatch(c.dtype(), [&]<class T>() {
      const T* x = c.data<T>();
      const int64_t n = c.numel();
      for (int64_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        if (std::isnan(a))
          saw_nan = true;
        else if (inf_norm)
          acc = std::max(acc, a);
        else if (norm_type == 2)
          acc += a * a;
        else if (norm_type == 1)
          acc += a;
        else
          acc += std::pow(a, norm_type);
      }
    });
  }
  double total = inf_norm         ? acc
                 : norm_type == 1 ? acc
                 : norm_type == 2 ? std::sqrt(acc)
                                  : std::pow(acc, 1.0 / norm_type);
  if (saw_nan)
    total = std::numeric_limits<double>::quiet_NaN();
  VOXGRAD_CHECK(
      !error_if_nonfinite || std::isfinite(total),
      "clip_grad_norm_: the total norm of order ", norm_type,
      " of the gradients is non-finite (", total,
      "), so it cannot be clipped; pass error_if_nonfinite = false to scale "
      "by the non-finite factor anyway");
  const double coef = max_norm / (total + 1e-6);
  // std::min keeps a NaN coef (as torch.clamp does).
  const double clamped = std::min(coef, 1.0);
  if (!(clamped == 1.0)) {
    for (Tensor& g : grads)
      g.copy_(g * clamped);
  }
  return total;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  VOXGRAD_CHECK(
      clip_value >= 0 && !std::isnan(clip_value),
      "clip_grad_value_: clip_value must be >= 0 (got ", clip_value, ")");
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    if (!p.defined() || !p.grad().defined())
      continue;
    Tensor g = p.grad();
    g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace voxgrad::nn::utils
