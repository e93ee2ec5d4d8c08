#include "gradient_penalty.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::examples {

Tensor gradient_penalty(
    const std::function<Tensor(const Tensor&)>& critic,
    const Tensor& real,
    const Tensor& fake,
    const Tensor& alpha,
    double lambda) {
  Tensor x = (alpha * real + (1.0 - alpha) * fake).detach();
  x.requires_grad_();
  const Tensor score = critic(x);
  // create_graph: the gradient is itself a graph (a ConvTranspose3d chain
  // through the critic), so the penalty can be differentiated again.
  const Tensor g =
      autograd::grad({score.sum()}, {x}, {}, /*create_graph=*/true)[0];
  // A tiny epsilon keeps sqrt differentiable at a zero gradient.
  const Tensor norm = sqrt(sum(square(g), {1, 2, 3, 4}) + 1e-12);
  return mean(square(norm - 1.0)) * lambda;
}

PenaltyCheck check_penalty_gradient(
    const std::function<Tensor(const Tensor&)>& critic,
    const TensorList& params,
    const Tensor& real,
    const Tensor& fake,
    const Tensor& alpha,
    double lambda,
    int per_tensor,
    uint64_t seed) {
  for (const Tensor& p : params)
    VOXGRAD_CHECK(
        p.dtype() == kFloat64 && p.is_contiguous(),
        "check_penalty_gradient: parameters must be contiguous float64");
  auto penalty = [&] {
    return gradient_penalty(critic, real, fake, alpha, lambda);
  };
  // Analytic: one double-backward sweep. Biases come back undefined (zero):
  // with piecewise-linear activations the critic's input gradient does not
  // depend on them (they only move the kinks), and the finite differences
  // below agree.
  const TensorList grads = autograd::grad(
      {penalty()}, params, {}, /*create_graph=*/false, std::nullopt,
      /*allow_unused=*/true);
  PenaltyCheck r;
  r.ok = true;
  const double h = 1e-6;
  Generator gen(seed);
  std::printf(
      "  tensor  entry  autograd                fd                      "
      "error\n");
  for (size_t t = 0; t < params.size(); ++t) {
    double* w = params[t].mutable_data<double>();
    const Tensor gt =
        grads[t].defined() ? grads[t].contiguous() : zeros_like(params[t]);
    for (int k = 0; k < per_tensor; ++k) {
      const auto i = static_cast<int64_t>(
          detail::uniform01(gen.advance(1), gen.seed()) *
          static_cast<double>(params[t].numel()));
      const double saved = w[i];
      w[i] = saved + h;
      const double up = penalty().item();
      w[i] = saved - h;
      const double down = penalty().item();
      w[i] = saved;
      const double fd = (up - down) / (2 * h);
      const double ad = gt.data<double>()[i];
      const double err = std::abs(ad - fd);
      const bool good = err <= 1e-5 + 1e-3 * std::abs(fd);
      std::printf(
          "  %6zu  %5lld  %+.15e  %+.15e  %.1e%s\n", t,
          static_cast<long long>(i), ad, fd, err, good ? "" : "  MISMATCH");
      r.ok = r.ok && good;
      r.max_abs_error = std::max(r.max_abs_error, err);
      r.max_rel_error =
          std::max(r.max_rel_error, err / std::max(std::abs(fd), 1e-3));
      ++r.entries;
    }
  }
  return r;
}

}  // namespace voxgrad::examples
