#include "voxgrad/nn/flatten.hpp"

#include <sstream>

namespace voxgrad::nn {

Tensor FlattenImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "Flatten: the input is undefined");
  const int64_t n = x.dim();
  auto axis = [n](int64_t a) { return a < 0 ? a + n : a; };
  const int64_t s = axis(options_.start_dim()), e = axis(options_.end_dim());
  VOXGRAD_CHECK(
      n > 0 && s >= 0 && s < n && e >= 0 && e < n && s <= e,
      "Flatten: start_dim ", options_.start_dim(), " and end_dim ",
      options_.end_dim(), " must name axes of the input, start first (got ",
      shape_str(x.shape()), ")");
  return x.flatten(s, e);
}

std::string FlattenImpl::extra_repr() const {
  std::ostringstream os;
  os << "start_dim=" << options_.start_dim()
     << ", end_dim=" << options_.end_dim();
  return os.str();
}

UnflattenImpl::UnflattenImpl(const UnflattenOptions& options)
    : options_(options) {
  int64_t inferred = 0;
  for (int64_t s : options.sizes()) {
    VOXGRAD_CHECK(
        s >= 0 || s == -1, "Unflatten: sizes must be >= 0 or -1 (got ",
        shape_str(options.sizes()), ")");
    inferred += s == -1;
  }
  VOXGRAD_CHECK(
      !options.sizes().empty() && inferred <= 1,
      "Unflatten: sizes must be non-empty with at most one -1 (got ",
      shape_str(options.sizes()), ")");
}

Tensor UnflattenImpl::forward(const Tensor& x) {
  VOXGRAD_CHECK(x.defined(), "Unflatten: the input is undefined");
  const int64_t n = x.dim();
  const int64_t d = options_.dim() < 0 ? options_.dim() + n : options_.dim();
  VOXGRAD_CHECK(
      d >= 0 && d < n, "Unflatten: dim ", options_.dim(),
      " is not an axis of the input ", shape_str(x.shape()));
  const int64_t extent = x.size(d);
  int64_t known = 1;
  bool infer = false;
  for (int64_t s : options_.sizes()) {
    if (s == -1)
      infer = true;
    else
      known *= s;
  }
  VOXGRAD_CHECK(
      infer ? (known > 0 && extent % known == 0) : known == extent,
      "Unflatten: sizes ", shape_str(options_.sizes()),
      " do not multiply to the extent ", extent, " of axis ", d,
      " of the input ", shape_str(x.shape()));
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  for (int64_t s : options_.sizes())
    shape.push_back(s == -1 ? extent / known : s);
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  return x.reshape(shape);
}

std::string UnflattenImpl::extra_repr() const {
  std::ostringstream os;
  os << "dim=" << options_.dim()
     << ", unflattened_size=" << shape_str(options_.sizes());
  return os.str();
}

}  // namespace voxgrad::nn
