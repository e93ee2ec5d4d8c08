#include "voxgrad/nn/utils/weight_reparam.hpp"

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad::nn::utils {

namespace {

bool is_conv_transpose(const Module& m) {
  return dynamic_cast<const ConvTranspose3dImpl*>(&m) != nullptr;
}

/// A grouped conv's weight is the 6-D view (g, A/g, B, k...) of PyTorch's
/// (A, B, k...) (SPEC); PyTorch's axes are those of the merged view.
bool grouped_conv_weight(const Module& m, const Tensor& w) {
  return w.dim() == 6 && (dynamic_cast<const Conv3dImpl*>(&m) != nullptr ||
                          is_conv_transpose(m));
}

Tensor torch_layout(const Tensor& w, bool grouped) {
  return grouped ? w.flatten(0, 1) : w;
}

/// `dim` in [-ndim, ndim), made non-negative.
int64_t checked_dim(
    const char* op,
    const Module& m,
    const std::string& name,
    const Tensor& w,
    bool grouped,
    int64_t dim) {
  const Tensor t = torch_layout(w, grouped);
  const int64_t ndim = t.dim();
  VOXGRAD_CHECK(
      ndim >= 1, op, ": ", m.name(), "'s parameter '", name,
      "' is 0-d; it needs an axis to normalise over");
  VOXGRAD_CHECK(
      dim >= -ndim && dim < ndim, op, ": dim ", dim, " is out of range for ",
      m.name(), "'s parameter '", name, "' of shape ", shape_str(t.shape()),
      grouped ? " (PyTorch's layout of this grouped conv weight)" : "",
      "; expected [", -ndim, ", ", ndim, ")");
  return dim < 0 ? dim + ndim : dim;
}

// ---- spectral_norm ---------------------------------------------------------

/// x / max(|x|_2, eps), as F.normalize(x, dim=0, eps=eps) on a vector.
Tensor normalize(const Tensor& x, double eps) {
  return x / clamp_min(sqrt(sum(x * x)), eps);
}

/// PyTorch's SpectralNorm object: the settings and the module's tensors
/// (the handles the module holds, filled in once registered).
struct SpectralNorm {
  std::string name;
  int64_t n_power_iterations = 1;
  int64_t dim = 0;  // in PyTorch's layout
  double eps = 1e-12;
  bool grouped = false;
  Tensor orig, u, v;

  /// PyTorch's reshape_weight_to_matrix: axis dim first, the rest flattened.
  Tensor matrix(const Tensor& w) const {
    Tensor m = torch_layout(w, grouped);
    if (dim != 0) {
      std::vector<int64_t> perm{dim};
      for (int64_t d = 0; d < m.dim(); ++d)
        if (d != dim)
          perm.push_back(d);
      m = m.permute(perm);
    }
    return m.reshape({m.size(0), -1});
  }

  /// PyTorch's compute_weight.
  Tensor compute(bool do_power_iteration) const {
    const Tensor w_mat = matrix(orig);
    Tensor uc = u, vc = v;
    if (do_power_iteration) {
      {
        NoGradGuard no_grad;
        const Tensor w = w_mat.detach();
        for (int64_t i = 0; i < n_power_iterations; ++i) {
          // In place: u and v are buffers, and the next call starts from them.
          v.copy_(normalize(matmul(w.transpose(0, 1), u), eps));
          u.copy_(normalize(matmul(w, v), eps));
        }
      }
      // Copies for the graph: the next call's in-place update of u and v
      // must not change what this call's backward reads.
      uc = u.clone();
      vc = v.clone();
    }
    const Tensor sigma = matmul(uc, matmul(w_mat, vc));
    return orig / sigma;
  }
};

using SpectralNormPtr = std::shared_ptr<SpectralNorm>;

Tensor named(const NamedTensors& list, const std::string& name) {
  for (const auto& [n, t] : list)
    if (n == name)
      return t;
  VOXGRAD_FAIL("internal: '", name, "' was just registered but is missing");
}

// ---- weight_norm -----------------------------------------------------------

/// PyTorch's norm_except_dim(x, 2, dim): the 2-norm over every axis but
/// dim, kept as size-1 axes; over all axes (0-d) when dim is -1.
Tensor norm_except_dim(const Tensor& x, int64_t dim) {
  if (dim == -1)
    return sqrt(sum(x * x));
  if (x.dim() == 1)  // nothing to reduce: |x| (sum over no axes means all)
    return abs(x);
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != dim)
      axes.push_back(d);
  return sqrt(sum(x * x, axes, true));
}

struct WeightNorm {
  std::string name;
  int64_t dim = 0;  // in PyTorch's layout; -1: all axes
  bool grouped = false;
  Tensor g, v;

  /// PyTorch's _weight_norm(v, g, dim) = v * (g / norm_except_dim(v, dim)).
  Tensor compute() const {
    const Tensor vt = torch_layout(v, grouped);
    const Tensor w = vt * (g / norm_except_dim(vt, dim));
    return grouped ? w.reshape(v.shape()) : w;
  }
};

using WeightNormPtr = std::shared_ptr<WeightNorm>;

/// The fresh parameter that replaces a reparametrisation when removed.
Tensor new_parameter(const Tensor& value, bool requires_grad) {
  Tensor p = value.detach().contiguous().clone();
  p.requires_grad_(requires_grad);
  return p;
}

}  // namespace

Module& spectral_norm(
    Module& module,
    const std::string& name,
    int64_t n_power_iterations,
    double eps,
    std::optional<int64_t> dim) {
  constexpr const char* op = "spectral_norm";
  const Tensor weight = module.reparametrizable(name, op);
  VOXGRAD_CHECK(
      n_power_iterations >= 1, op, ": n_power_iterations must be >= 1 (got ",
      n_power_iterations, ")");
  VOXGRAD_CHECK(
      std::isfinite(eps) && eps > 0, op, ": eps must be finite and > 0 (got ",
      eps, ")");
  require_floating(weight.dtype(), op, ("parameter '" + name + "'").c_str());
  auto sn = std::make_shared<SpectralNorm>();
  sn->name = name;
  sn->n_power_iterations = n_power_iterations;
  sn->eps = eps;
  sn->grouped = grouped_conv_weight(module, weight);
  sn->dim = checked_dim(
      op, module, name, weight, sn->grouped,
      dim.value_or(is_conv_transpose(module) ? 1 : 0));
  Tensor u, v;
  {
    NoGradGuard no_grad;
    const Tensor m = sn->matrix(weight);
    u = normalize(randn({m.size(0)}, weight.dtype()), eps);
    v = normalize(randn({m.size(1)}, weight.dtype()), eps);
  }
  module.reparametrize(
      name, op, {{name + "_orig", weight}},
      {{name + "_u", u}, {name + "_v", v}}, sn,
      [sn](Module& m, const TensorList&) -> std::optional<TensorList> {
        m.set_reparametrized(sn->name, sn->compute(m.is_training()));
        return std::nullopt;
      },
      weight.detach());  // PyTorch: setattr(module, name, weight.data)
  // The module's own handles (register_buffer stores its own handle, and
  // Module::to rewrites those in place).
  sn->orig = weight;
  sn->u = named(module.named_buffers(false), name + "_u");
  sn->v = named(module.named_buffers(false), name + "_v");
  return module;
}

Module& remove_spectral_norm(Module& module, const std::string& name) {
  const Module::Reparametrization* r = module.reparametrization(name);
  VOXGRAD_CHECK(
      r != nullptr && r->kind == "spectral_norm",
      "remove_spectral_norm: spectral_norm of '", name, "' not found in ",
      module.name(),
      r != nullptr ? " (it is reparametrised by " + r->kind + ")" : "");
  const auto sn = std::any_cast<SpectralNormPtr>(r->state);
  Tensor weight;
  {
    NoGradGuard no_grad;
    weight = sn->compute(false);
  }
  module.remove_reparametrized(
      name, "spectral_norm", new_parameter(weight, sn->orig.requires_grad()));
  return module;
}

Module& weight_norm(
    Module& module, const std::string& name, std::optional<int64_t> dim) {
  constexpr const char* op = "weight_norm";
  const Tensor weight = module.reparametrizable(name, op);
  require_floating(weight.dtype(), op, ("parameter '" + name + "'").c_str());
  auto wn = std::make_shared<WeightNorm>();
  wn->name = name;
  wn->grouped = grouped_conv_weight(module, weight);
  const int64_t d = dim.value_or(-1);
  wn->dim =
      d == -1 ? -1 : checked_dim(op, module, name, weight, wn->grouped, d);
  Tensor g;
  {
    NoGradGuard no_grad;
    g = norm_except_dim(torch_layout(weight, wn->grouped), wn->dim)
            .contiguous()
            .clone();
  }
  g.requires_grad_(weight.requires_grad());
  wn->g = g;
  wn->v = weight;
  module.reparametrize(
      name, op, {{name + "_g", g}, {name + "_v", weight}}, {}, wn,
      [wn](Module& m, const TensorList&) -> std::optional<TensorList> {
        m.set_reparametrized(wn->name, wn->compute());
        return std::nullopt;
      },
      wn->compute());
  return module;
}

Module& remove_weight_norm(Module& module, const std::string& name) {
  const Module::Reparametrization* r = module.reparametrization(name);
  VOXGRAD_CHECK(
      r != nullptr && r->kind == "weight_norm",
      "remove_weight_norm: weight_norm of '", name, "' not found in ",
      module.name(),
      r != nullptr ? " (it is reparametrised by " + r->kind + ")" : "");
  const auto wn = std::any_cast<WeightNormPtr>(r->state);
  Tensor weight;
  {
    NoGradGuard no_grad;
    weight = wn->compute();
  }
  module.remove_reparametrized(
      name, "weight_norm", new_parameter(weight, wn->v.requires_grad()));
  return module;
}

}  // namespace voxgrad::nn::utils
