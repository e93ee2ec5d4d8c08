#include "voxgrad/nn/activation.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"

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

}  // namespace voxgrad::nn
