#include "voxgrad/nn/layer_norm.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {

namespace {

void check_normalized_shape(const std::vector<int64_t>& s, const char* who) {
  bool ok = !s.empty();
  for (int64_t v : s)
    ok = ok && v >= 0;
  VOXGRAD_CHECK(
      ok, who, ": normalized_shape must hold at least one extent, each >= 0 ",
      "(got ", shape_str(s), ")");
}

void check_eps(double eps, const char* who) {
  VOXGRAD_CHECK(
      eps >= 0 && std::isfinite(eps), who, ": eps must be finite and >= 0 ",
      "(got ", eps, ")");
}

}  // namespace

LayerNormImpl::LayerNormImpl(const LayerNormOptions& options)
    : options_(options) {
  check_normalized_shape(options.normalized_shape(), "LayerNorm");
  check_eps(options.eps(), "LayerNorm");
  if (options.elementwise_affine()) {
    weight_ = register_parameter("weight", empty(options.normalized_shape()));
    bias_ = register_parameter("bias", empty(options.normalized_shape()));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (options_.elementwise_affine()) {
    init::ones_(weight_);
    init::zeros_(bias_);
  }
}

Tensor LayerNormImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "LayerNorm: the input is undefined");
  VOXGRAD_CHECK(
      !weight_.defined() || x.dtype() == weight_.dtype(), "LayerNorm: the ",
      "input is ", dtype_name(x.dtype()), " but the module holds ",
      dtype_name(weight_.dtype()),
      "; convert the input with .to(...) or the module with .to(dtype)");
  return functional::layer_norm(
      x, functional::LayerNormFuncOptions(options_.normalized_shape())
             .weight(weight_)
             .bias(bias_)
             .eps(options_.eps()));
}

std::string LayerNormImpl::extra_repr() const {
  std::ostringstream os;
  os << shape_str(options_.normalized_shape()) << ", eps=" << options_.eps()
     << ", elementwise_affine="
     << (options_.elementwise_affine() ? "true" : "false");
  return os.str();
}

namespace functional {

Tensor layer_norm(const Tensor& x, const LayerNormFuncOptions& options) {
  constexpr const char* op = "layer_norm";
  const std::vector<int64_t>& ns = options.normalized_shape();
  check_normalized_shape(ns, op);
  check_eps(options.eps(), op);
  VOXGRAD_CHECK(x.defined(), op, ": the input is undefined");
  const auto k = static_cast<int64_t>(ns.size());
  bool fits = x.dim() >= k;
  for (int64_t i = 0; fits && i < k; ++i)
    fits = x.size(x.dim() - k + i) == ns[static_cast<size_t>(i)];
  VOXGRAD_CHECK(
      fits, op, ": given normalized_shape ", shape_str(ns),
      ", expected an input of shape [*, ", shape_str(ns).substr(1), " but got ",
      shape_str(x.shape()));
  for (const auto& [t, name] :
       {std::pair{&options.weight(), "weight"}, {&options.bias(), "bias"}}) {
    if (!t->defined())
      continue;
    VOXGRAD_CHECK(
        t->shape() == Shape(ns.begin(), ns.end()) && t->dtype() == x.dtype(),
        op, ": ", name, " must be ", dtype_name(x.dtype()), " of shape ",
        shape_str(ns), " (got ", dtype_name(t->dtype()), " ",
        shape_str(t->shape()), ")");
  }
  std::vector<int64_t> axes;
  for (int64_t a = x.dim() - k; a < x.dim(); ++a)
    axes.push_back(a);
  const Tensor centered = x - x.mean(axes, true);
  const Tensor var = (centered * centered).mean(axes, true);  // biased
  Tensor y = centered * (1.0 / sqrt(var + options.eps()));
  if (options.weight().defined())
    y = y * options.weight();
  return options.bias().defined() ? y + options.bias() : y;
}

}  // namespace functional
}  // namespace voxgrad::nn
