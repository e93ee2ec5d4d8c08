#include "voxgrad/nn/dropout.hpp"

#include <cmath>
#include <sstream>

#include "voxgrad/autograd/ops.hpp"

namespace voxgrad::nn {

namespace {

void check_p(double p, const char* op) {
  VOXGRAD_CHECK(
      p >= 0 && p <= 1, op, ": dropout probability p must be in [0, 1] (got ",
      p, ")");
}

/// x * (keep / (1 - p)) with keep ~ Bernoulli(1 - p) drawn in `mask_shape`
/// (broadcast over x). The mask is a constant of the graph.
Tensor apply_mask(
    const Tensor& x, const Shape& mask_shape, double p, Generator* gen) {
  if (p == 1)
    return x * 0.0;
  const Tensor u = rand(mask_shape, x.dtype(), gen);
  const Tensor keep = ge(u, p) * (1.0 / (1.0 - p));
  return x * keep;
}

std::string repr(const DropoutOptions& o) {
  std::ostringstream os;
  os << "p=" << o.p();
  return os.str();
}

}  // namespace

DropoutImpl::DropoutImpl(const DropoutOptions& options) : options_(options) {
  check_p(options.p(), "Dropout");
}

Tensor DropoutImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "Dropout: the input is undefined");
  return functional::dropout(
      x, options_.p(), is_training(), options_.generator().get());
}

std::string DropoutImpl::extra_repr() const {
  return repr(options_);
}

Dropout3dImpl::Dropout3dImpl(const DropoutOptions& options)
    : options_(options) {
  check_p(options.p(), "Dropout3d");
}

Tensor Dropout3dImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "Dropout3d: the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 5 || x.dim() == 4,
      "Dropout3d: expected a 5-D input (N, C, D, H, W) or an unbatched 4-D "
      "input (C, D, H, W), got ",
      shape_str(x.shape()));
  return functional::dropout3d(
      x, options_.p(), is_training(), options_.generator().get());
}

std::string Dropout3dImpl::extra_repr() const {
  return repr(options_);
}

namespace functional {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  VOXGRAD_CHECK(x.defined(), "dropout: the input is undefined");
  check_p(p, "dropout");
  if (!training || p == 0)
    return x;
  return apply_mask(x, x.shape(), p, gen);
}

Tensor dropout3d(const Tensor& x, double p, bool training, Generator* gen) {
  VOXGRAD_CHECK(x.defined(), "dropout3d: the input is undefined");
  check_p(p, "dropout3d");
  VOXGRAD_CHECK(
      x.dim() == 5 || x.dim() == 4,
      "dropout3d: expected a 5-D input (N, C, D, H, W) or an unbatched 4-D "
      "input (C, D, H, W), got ",
      shape_str(x.shape()));
  if (!training || p == 0)
    return x;
  Shape mask = x.shape();
  for (size_t a = mask.size() - 3; a < mask.size(); ++a)
    mask[a] = 1;
  return apply_mask(x, mask, p, gen);
}

}  // namespace functional
}  // namespace voxgrad::nn
