#include "voxgrad/nn/softmax.hpp"

#include "voxgrad/autograd/ops.hpp"

namespace voxgrad::nn {

namespace functional {
Tensor softmax(const Tensor& input, const SoftmaxFuncOptions& options) {
  return voxgrad::softmax(input, options.dim());
}
Tensor log_softmax(const Tensor& input, const LogSoftmaxFuncOptions& options) {
  return voxgrad::log_softmax(input, options.dim());
}
}  // namespace functional

Tensor SoftmaxImpl::forward(const Tensor& x) {
  return voxgrad::softmax(x, options_.dim());
}

std::string SoftmaxImpl::extra_repr() const {
  return "dim=" + std::to_string(options_.dim());
}

Tensor LogSoftmaxImpl::forward(const Tensor& x) {
  return voxgrad::log_softmax(x, options_.dim());
}

std::string LogSoftmaxImpl::extra_repr() const {
  return "dim=" + std::to_string(options_.dim());
}

}  // namespace voxgrad::nn
