#include "voxgrad/nn/cross_entropy.hpp"

#include <sstream>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/ops.hpp"

namespace voxgrad::nn {

namespace {

/// Inputs of one classification loss, batched: (N, C, ...) input and its
/// target; `unbatched` when the caller gave (C) and a 0-d index target (or
/// a (C) probability target), which were given a batch axis of 1.
struct Batched {
  Tensor input, target;
  bool unbatched = false;
};

Batched batched(
    const Tensor& input,
    const Tensor& target,
    bool probabilities,
    const char* op) {
  VOXGRAD_CHECK(input.defined(), op, ": input is undefined");
  VOXGRAD_CHECK(target.defined(), op, ": target is undefined");
  require_floating(input.dtype(), op, "input");
  VOXGRAD_CHECK(
      input.dim() >= 1, op,
      ": input must be (C), (N, C) or (N, C, d1, ...) (got ",
      shape_str(input.shape()), ")");
  if (input.dim() > 1)
    return {input, target, false};
  VOXGRAD_CHECK(
      target.dim() == (probabilities ? 1 : 0), op, ": an unbatched input ",
      shape_str(input.shape()), " takes a ",
      probabilities ? "(C) probability" : "0-d class-index", " target (got ",
      shape_str(target.shape()), ")");
  return {input.unsqueeze(0), target.unsqueeze(0), true};
}

void check_weight(const Tensor& w, const Tensor& input, const char* op) {
  if (!w.defined())
    return;
  const int64_t C = input.size(1);
  VOXGRAD_CHECK(
      w.shape() == Shape{C} && w.dtype() == input.dtype(), op, ": weight (",
      dtype_name(w.dtype()), " ", shape_str(w.shape()), ") must be ",
      dtype_name(input.dtype()), " [", C, "], one weight per class of input ",
      shape_str(input.shape()));
}

void check_reduction(Reduction r, const char* op) {
  VOXGRAD_CHECK(
      r != Reduction::BatchMean, op,
      ": reduction 'batchmean' is only defined for kl_div (use 'mean', 'sum' "
      "or 'none')");
}

/// Reduces per-position losses; 'mean' divides by `total` (a 0-d tensor,
/// no gradient): the summed target weights, as PyTorch does.
Tensor reduce_by(
    const Tensor& loss, Reduction r, const Tensor& total, bool unbatched) {
  switch (r) {
    case Reduction::None:
      return unbatched ? loss.squeeze(0) : loss;
    case Reduction::Sum:
      return loss.sum();
    case Reduction::Mean:
    case Reduction::BatchMean:
      break;
  }
  return loss.sum() / total;
}

Tensor cross_entropy_probabilities(
    const Batched& b, const CrossEntropyLossOptions& o, const char* op) {
  const Tensor& x = b.input;
  VOXGRAD_CHECK(
      b.target.dtype() == x.dtype(), op, ": a class-probability target must ",
      "have the input's dtype ", dtype_name(x.dtype()), " (got ",
      dtype_name(b.target.dtype()),
      "); class indices are int64 of the input's shape without dim 1");
  VOXGRAD_CHECK(
      o.ignore_index() < 0, op, ": ignore_index (", o.ignore_index(),
      ") is not supported when the target holds class probabilities "
      "(PyTorch's rule)");
  const int64_t C = x.size(1);
  const double eps = o.label_smoothing();
  Tensor q = b.target;
  if (eps > 0)
    q = q * (1.0 - eps) + eps / static_cast<double>(C);
  Tensor prod = log_softmax(x, 1) * q;
  if (o.weight().defined()) {
    Shape ws(static_cast<size_t>(x.dim()), 1);
    ws[1] = C;
    prod = prod * o.weight().reshape(ws);
  }
  const Tensor loss = -prod.sum({1});
  const double positions = C == 0 ? 0.0 : static_cast<double>(x.numel() / C);
  return reduce_by(
      loss, o.reduction(), scalar_tensor(positions, x.dtype()), b.unbatched);
}

}  // namespace

namespace functional {

Tensor cross_entropy(
    const Tensor& input,
    const Tensor& target,
    const CrossEntropyFuncOptions& options) {
  constexpr const char* op = "cross_entropy";
  check_reduction(options.reduction(), op);
  const bool probabilities = input.defined() && target.defined() &&
                             target.shape() == input.shape() &&
                             target.dtype() != kInt64;
  const Batched b = batched(input, target, probabilities, op);
  check_weight(options.weight(), b.input, op);
  VOXGRAD_CHECK(
      options.label_smoothing() >= 0 && options.label_smoothing() <= 1, op,
      ": label_smoothing must lie in [0, 1] (got ", options.label_smoothing(),
      ")");
  if (probabilities)
    return cross_entropy_probabilities(b, options, op);
  const Tensor loss = cross_entropy_op(
      b.input, b.target, options.weight(), options.ignore_index(),
      options.label_smoothing());
  if (options.reduction() != Reduction::Mean)
    return reduce_by(loss, options.reduction(), {}, b.unbatched);
  const ClassTargets ct = class_targets(
      b.target, b.input.size(1), options.weight(), options.ignore_index(),
      b.input.dtype(), op);
  return reduce_by(loss, Reduction::Mean, ct.weight.sum(), b.unbatched);
}

Tensor nll_loss(
    const Tensor& input,
    const Tensor& target,
    const NLLLossFuncOptions& options) {
  constexpr const char* op = "nll_loss";
  check_reduction(options.reduction(), op);
  const Batched b = batched(input, target, false, op);
  check_weight(options.weight(), b.input, op);
  Shape want = b.input.shape();
  want.erase(want.begin() + 1);
  VOXGRAD_CHECK(
      b.target.shape() == want, op, ": target ", shape_str(target.shape()),
      " must be the input's shape without the class axis ", shape_str(want),
      " (input ", shape_str(input.shape()), ")");
  const ClassTargets ct = class_targets(
      b.target, b.input.size(1), options.weight(), options.ignore_index(),
      b.input.dtype(), op);
  const Tensor picked = gather(b.input, 1, ct.index.unsqueeze(1)).squeeze(1);
  // where, not a multiplication by 0: an ignored position may hold -inf.
  const Tensor loss = where(
      ne(b.target,
         full({}, static_cast<double>(options.ignore_index()), kInt64)),
      -picked * ct.weight, zeros({}, b.input.dtype()));
  return reduce_by(loss, options.reduction(), ct.weight.sum(), b.unbatched);
}

}  // namespace functional

CrossEntropyLossImpl::CrossEntropyLossImpl(
    const CrossEntropyLossOptions& options)
    : Loss(options.reduction()), options_(options) {
  if (options.weight().defined())
    options_.weight(register_buffer("weight", options.weight()));
}

Tensor CrossEntropyLossImpl::forward(
    const Tensor& input, const Tensor& target) {
  return functional::cross_entropy(input, target, options_);
}

std::string CrossEntropyLossImpl::extra_repr() const {
  std::ostringstream os;
  os << Loss::extra_repr() << ", ignore_index=" << options_.ignore_index()
     << ", label_smoothing=" << options_.label_smoothing();
  return os.str();
}

NLLLossImpl::NLLLossImpl(const NLLLossOptions& options)
    : Loss(options.reduction()), options_(options) {
  if (options.weight().defined())
    options_.weight(register_buffer("weight", options.weight()));
}

Tensor NLLLossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::nll_loss(input, target, options_);
}

std::string NLLLossImpl::extra_repr() const {
  std::ostringstream os;
  os << Loss::extra_repr() << ", ignore_index=" << options_.ignore_index();
  return os.str();
}

}  // namespace voxgrad::nn
