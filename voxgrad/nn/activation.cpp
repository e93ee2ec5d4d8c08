#include "voxgrad/nn/activation.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {

namespace {
const Tensor& checked(const Tensor& x, const char* module) {
  VOXGRAD_CHECK(x.defined(), module, ": the input is undefined");
  return x;
}
}  // namespace

Tensor ReLUImpl::forward(const Tensor& x) {
  return relu(checked(x, "ReLU"));
}

LeakyReLUImpl::LeakyReLUImpl(const LeakyReLUOptions& options)
    : options_(options) {
  VOXGRAD_CHECK(
      std::isfinite(options.negative_slope()),
      "LeakyReLU: negative_slope must be finite (got ",
      options.negative_slope(), ")");
}

Tensor LeakyReLUImpl::forward(const Tensor& x) {
  return leaky_relu(checked(x, "LeakyReLU"), options_.negative_slope());
}

std::string LeakyReLUImpl::extra_repr() const {
  std::ostringstream os;
  os << "negative_slope=" << options_.negative_slope();
  return os.str();
}

Tensor SiLUImpl::forward(const Tensor& x) {
  return silu(checked(x, "SiLU"));
}

Tensor SigmoidImpl::forward(const Tensor& x) {
  return sigmoid(checked(x, "Sigmoid"));
}

Tensor TanhImpl::forward(const Tensor& x) {
  return tanh(checked(x, "Tanh"));
}

SoftplusImpl::SoftplusImpl(const SoftplusOptions& options) : options_(options) {
  VOXGRAD_CHECK(
      std::isfinite(options.beta()) && options.beta() != 0 &&
          !std::isnan(options.threshold()),
      "Softplus: beta must be finite and non-zero and threshold not NaN (got "
      "beta ",
      options.beta(), ", threshold ", options.threshold(), ")");
}

Tensor SoftplusImpl::forward(const Tensor& x) {
  return softplus(
      checked(x, "Softplus"), options_.beta(), options_.threshold());
}

std::string SoftplusImpl::extra_repr() const {
  std::ostringstream os;
  os << "beta=" << options_.beta() << ", threshold=" << options_.threshold();
  return os.str();
}

ELUImpl::ELUImpl(const ELUOptions& options) : options_(options) {
  VOXGRAD_CHECK(
      std::isfinite(options.alpha()), "ELU: alpha must be finite (got ",
      options.alpha(), ")");
}

Tensor ELUImpl::forward(const Tensor& x) {
  return elu(checked(x, "ELU"), options_.alpha());
}

std::string ELUImpl::extra_repr() const {
  std::ostringstream os;
  os << "alpha=" << options_.alpha();
  return os.str();
}

GELUImpl::GELUImpl(const GELUOptions& options) : options_(options) {
  const std::string& a = options.approximate();
  VOXGRAD_CHECK(
      a == "none" || a == "tanh",
      "GELU: approximate must be \"none\" or \"tanh\" (got \"", a, "\")");
}

Tensor GELUImpl::forward(const Tensor& x) {
  return gelu(checked(x, "GELU"), options_.approximate());
}

std::string GELUImpl::extra_repr() const {
  return "approximate='" + options_.approximate() + "'";
}

Tensor MishImpl::forward(const Tensor& x) {
  return mish(checked(x, "Mish"));
}

HardtanhImpl::HardtanhImpl(const HardtanhOptions& options) : options_(options) {
  VOXGRAD_CHECK(
      options.max_val() > options.min_val(),
      "Hardtanh: max_val must be greater than min_val (got min_val ",
      options.min_val(), ", max_val ", options.max_val(), ")");
}

Tensor HardtanhImpl::forward(const Tensor& x) {
  return hardtanh(
      checked(x, "Hardtanh"), options_.min_val(), options_.max_val());
}

std::string HardtanhImpl::extra_repr() const {
  std::ostringstream os;
  os << "min_val=" << options_.min_val() << ", max_val=" << options_.max_val();
  return os.str();
}

Tensor SoftsignImpl::forward(const Tensor& x) {
  return softsign(checked(x, "Softsign"));
}

PReLUImpl::PReLUImpl(const PReLUOptions& options) : options_(options) {
  VOXGRAD_CHECK(
      options.num_parameters() >= 1, "PReLU: num_parameters must be >= 1 (got ",
      options.num_parameters(), ")");
  VOXGRAD_CHECK(
      std::isfinite(options.init()), "PReLU: init must be finite (got ",
      options.init(), ")");
  weight_ = register_parameter("weight", empty({options.num_parameters()}));
  reset_parameters();
}

void PReLUImpl::reset_parameters() {
  init::constant_(weight_, options_.init());
}

Tensor PReLUImpl::forward(const Tensor& x) {
  checked(x, "PReLU");
  VOXGRAD_CHECK(
      x.dtype() == weight_.dtype(), "PReLU: the input is ",
      dtype_name(x.dtype()), " but the module holds ",
      dtype_name(weight_.dtype()),
      "; convert the input with .to(...) or the module with .to(dtype)");
  return prelu(x, weight_);
}

std::string PReLUImpl::extra_repr() const {
  std::ostringstream os;
  os << "num_parameters=" << options_.num_parameters();
  return os.str();
}

namespace functional {
Tensor elu(const Tensor& x, const ELUFuncOptions& options) {
  return voxgrad::elu(x, options.alpha());
}
Tensor gelu(const Tensor& x, const GELUFuncOptions& options) {
  return voxgrad::gelu(x, options.approximate());
}
Tensor mish(const Tensor& x) {
  return voxgrad::mish(x);
}
Tensor hardtanh(const Tensor& x, const HardtanhFuncOptions& options) {
  return voxgrad::hardtanh(x, options.min_val(), options.max_val());
}
Tensor softsign(const Tensor& x) {
  return voxgrad::softsign(x);
}
Tensor prelu(const Tensor& x, const Tensor& weight) {
  return voxgrad::prelu(x, weight);
}
}  // namespace functional

}  // namespace voxgrad::nn
