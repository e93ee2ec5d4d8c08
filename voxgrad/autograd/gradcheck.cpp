#include "voxgrad/autograd/gradcheck.hpp"

#include <cmath>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad {
namespace {

/// Address of the flat (row-major) element i of a strided float64 tensor.
double* element(const Tensor& t, int64_t i) {
  int64_t off = 0;
  for (size_t d = t.shape().size(); d-- > 0;) {
    off += (i % t.shape()[d]) * t.strides()[d];
    i /= t.shape()[d];
  }
  return t.mutable_data<double>() + off;
}

// Grad mode stays on: fn may differentiate internally (a gradient penalty).
Tensor evaluate(const GradcheckFn& fn, const TensorList& inputs) {
  // clone, not contiguous: an output that is a view of an input would
  // otherwise alias it and see the later perturbations.
  return fn(inputs).detach().clone();
}

}  // namespace

bool gradcheck(
    const GradcheckFn& fn,
    const TensorList& inputs,
    const GradcheckOptions& options) {
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad())
      continue;
    VOXGRAD_CHECK(
        inputs[i].dtype() == kFloat64, "gradcheck: input ", i, " is ",
        dtype_name(inputs[i].dtype()),
        "; finite differences need float64 (use .to(kFloat64))");
    checked.push_back(i);
  }
  VOXGRAD_CHECK(!checked.empty(), "gradcheck: no input requires grad");
  const Tensor y = fn(inputs);
  VOXGRAD_CHECK(
      y.dtype() == kFloat64, "gradcheck: the function returned ",
      dtype_name(y.dtype()), "; it must return float64");

  // Probes u: unit vectors (the full Jacobian) or random projections.
  TensorList probes;
  const int64_t ny = y.numel();
  if (ny <= options.full_jacobian_max_outputs) {
    for (int64_t j = 0; j < ny; ++j) {
      Tensor u = zeros(y.shape(), kFloat64);
      u.mutable_data<double>()[j] = 1.0;
      probes.push_back(u);
    }
  } else {
    Generator gen(options.seed);
    for (int r = 0; r < options.random_projections; ++r)
      probes.push_back(randn(y.shape(), kFloat64, &gen));
  }
  TensorList sub;
  for (size_t i : checked)
    sub.push_back(inputs[i]);
  std::vector<TensorList> analytic;
  for (const Tensor& u : probes) {
    TensorList g = autograd::grad({y}, sub, {u}, false, true, true);
    for (size_t k = 0; k < g.size(); ++k) {
      g[k] = g[k].defined() ? g[k].detach().contiguous()
                            : zeros(sub[k].shape(), kFloat64);
    }
    analytic.push_back(std::move(g));
  }

  for (size_t k = 0; k < checked.size(); ++k) {
    const Tensor& x = inputs[checked[k]];
    for (int64_t e = 0; e < x.numel(); ++e) {
      double* p = element(x, e);
      const double orig = *p;
      *p = orig + options.eps;
      const Tensor plus = evaluate(fn, inputs);
      *p = orig - options.eps;
      const Tensor minus = evaluate(fn, inputs);
      *p = orig;
      const double* yp = plus.data<double>();
      const double* ym = minus.data<double>();
      for (size_t r = 0; r < probes.size(); ++r) {
        const double* u = probes[r].data<double>();
        double numeric = 0;
        for (int64_t j = 0; j < ny; ++j)
          numeric += u[j] * (yp[j] - ym[j]) / (2 * options.eps);
        const double a = analytic[r][k].data<double>()[e];
        const bool ok = std::abs(a - numeric) <=
                        options.atol + options.rtol * std::abs(numeric);
        if (ok)
          continue;
        if (!options.raise_exception)
          return false;
        VOXGRAD_FAIL(
            "gradcheck: gradient mismatch for input ", checked[k], " ",
            shape_str(x.shape()), " at flat element ", e, ", ",
            ny <= options.full_jacobian_max_outputs ? "output element "
                                                    : "projection ",
            r, ": analytic ", a, " vs numeric ", numeric, " (atol ",
            options.atol, ", rtol ", options.rtol, ")");
      }
    }
  }
  return true;
}

bool gradgradcheck(
    const GradcheckFn& fn,
    const TensorList& inputs,
    const GradcheckOptions& options) {
  TensorList sub;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad())
      sub.push_back(t);
  VOXGRAD_CHECK(!sub.empty(), "gradgradcheck: no input requires grad");
  Tensor y0;
  {
    NoGradGuard no_grad;
    y0 = fn(inputs);
  }
  Generator gen(options.seed + 1);
  Tensor u = randn(y0.shape(), y0.dtype(), &gen).requires_grad_();
  TensorList all = inputs;
  all.push_back(u);
  const size_t n_in = inputs.size();
  GradcheckFn first = [&fn, n_in](const TensorList& in) {
    const TensorList xs(
        in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n_in));
    const Tensor y = fn(xs);
    TensorList wrt;
    for (const Tensor& t : xs)
      if (t.defined() && t.requires_grad())
        wrt.push_back(t);
    const TensorList g =
        autograd::grad({y}, wrt, {in.back()}, true, true, true);
    TensorList flat;
    for (size_t k = 0; k < g.size(); ++k)
      flat.push_back(
          g[k].defined() ? g[k].reshape({-1})
                         : zeros({wrt[k].numel()}, kFloat64));
    return cat(flat);
  };
  return gradcheck(first, all, options);
}

}  // namespace voxgrad
