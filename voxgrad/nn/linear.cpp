#include "voxgrad/nn/linear.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {

LinearImpl::LinearImpl(const LinearOptions& options) : options_(options) {
  const int64_t in = options.in_features(), out = options.out_features();
  VOXGRAD_CHECK(
      in >= 0 && out >= 0,
      "Linear: in_features and out_features must be >= 0 (got ", in, " and ",
      out, ")");
  register_parameter("weight", weight_, empty({out, in}));
  if (options.bias())
    register_parameter("bias", bias_, empty({out}));
  reset_parameters();
}

void LinearImpl::reset_parameters(Generator* gen) {
  const int64_t in = options_.in_features();
  // PyTorch: kaiming_uniform_(weight, a=sqrt(5)), i.e. U(-b, b) with
  // b = 1/sqrt(fan_in), and the bias from the same bound (0 when fan_in = 0).
  const double bound = in > 0 ? 1.0 / std::sqrt(static_cast<double>(in)) : 0.0;
  if (weight_.numel() > 0) {
    init::kaiming_uniform_(
        weight_, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  }
  if (bias_.defined())
    init::uniform_(bias_, -bound, bound, gen);
}

Tensor LinearImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "Linear: the input is undefined");
  VOXGRAD_CHECK(
      x.dim() >= 1 && x.size(-1) == options_.in_features(),
      "Linear: expected an input (*, in_features) with in_features = ",
      options_.in_features(), ", got ", shape_str(x.shape()));
  VOXGRAD_CHECK(
      x.dtype() == weight_.dtype(), "Linear: the input is ",
      dtype_name(x.dtype()), " but the parameters are ",
      dtype_name(weight_.dtype()),
      "; convert the input with .to(...) or the module with .to(dtype)");
  return functional::linear(x, weight_, bias_);
}

std::string LinearImpl::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << options_.in_features()
     << ", out_features=" << options_.out_features()
     << ", bias=" << (options_.bias() ? "true" : "false");
  return os.str();
}

namespace functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  VOXGRAD_CHECK(
      x.defined() && weight.defined(), "linear: input or weight is undefined");
  VOXGRAD_CHECK(
      weight.dim() == 2,
      "linear: weight must be 2-D (out_features, in_features), got ",
      shape_str(weight.shape()));
  const int64_t in = weight.size(1), out = weight.size(0);
  VOXGRAD_CHECK(
      x.dim() >= 1 && x.size(-1) == in, "linear: input ", shape_str(x.shape()),
      " must end in in_features = ", in, " (weight ", shape_str(weight.shape()),
      ")");
  VOXGRAD_CHECK(
      !bias.defined() || bias.shape() == Shape{out},
      "linear: bias must have shape ", shape_str({out}), ", got ",
      shape_str(bias.shape()));
  // One 2-D product: matmul would otherwise materialise W^T per batch entry.
  Shape out_shape = x.shape();
  out_shape.back() = out;
  const Tensor x2 = x.dim() == 2 ? x : x.reshape({-1, in});
  Tensor y = matmul(x2, weight.transpose(0, 1));
  if (bias.defined())
    y = y + bias;
  return x.dim() == 2 ? y : y.reshape(out_shape);
}

}  // namespace functional
}  // namespace voxgrad::nn
