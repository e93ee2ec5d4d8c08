#pragma once
// nn.Softmax and nn.LogSoftmax, and F::softmax / F::log_softmax with
// libtorch's options: thin wrappers of voxgrad::softmax / log_softmax
// (voxgrad/autograd/ops/softmax.cpp, fused and numerically stable).

#include <string>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// SoftmaxOptions(1): the axis the probabilities sum to 1 along.
struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as libtorch
  SoftmaxOptions& dim(int64_t d) {
    dim_ = d;
    return *this;
  }
  int64_t dim() const {
    return dim_;
  }

 private:
  int64_t dim_;
};
using LogSoftmaxOptions = SoftmaxOptions;

namespace functional {
using SoftmaxFuncOptions = SoftmaxOptions;
using LogSoftmaxFuncOptions = SoftmaxOptions;
/// softmax(x, dim) with the dimension in options, as libtorch's F::softmax:
/// ```cpp
/// Tensor p = F::softmax(logits, F::SoftmaxFuncOptions(1));
/// ```
Tensor softmax(const Tensor& input, const SoftmaxFuncOptions& options);
Tensor log_softmax(const Tensor& input, const LogSoftmaxFuncOptions& options);
}  // namespace functional

/// Softmax over one dimension (torch::nn::Softmax):
/// ```cpp
/// nn::Softmax softmax(1);  auto p = softmax(logits);
/// ```
class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(const SoftmaxOptions& options) : options_(options) {}
  Tensor forward(const Tensor& x);
  const SoftmaxOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  SoftmaxOptions options_;
};
VOXGRAD_MODULE(Softmax);

/// log(softmax(x, dim)), computed stably (torch::nn::LogSoftmax).
class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& options)
      : options_(options) {}
  Tensor forward(const Tensor& x);
  const LogSoftmaxOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  LogSoftmaxOptions options_;
};
VOXGRAD_MODULE(LogSoftmax);

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
