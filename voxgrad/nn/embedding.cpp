#include "voxgrad/nn/embedding.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/index.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {

namespace {

/// padding_idx in [0, num), from PyTorch's [-num, num).
std::optional<int64_t> resolve_padding(
    std::optional<int64_t> p, int64_t num, const char* op) {
  if (!p)
    return p;
  VOXGRAD_CHECK(
      *p >= -num && *p < num, op, ": padding_idx ", *p,
      " must lie in [-num_embeddings, num_embeddings) = [", -num, ", ", num,
      ")");
  return *p < 0 ? *p + num : *p;
}

void check_norm_options(
    std::optional<double> max_norm, double norm_type, const char* op) {
  if (!max_norm)
    return;
  VOXGRAD_CHECK(
      std::isfinite(*max_norm) && *max_norm > 0, op,
      ": max_norm must be finite and > 0 (got ", *max_norm, ")");
  VOXGRAD_CHECK(
      norm_type > 0 && !std::isnan(norm_type), op,
      ": norm_type must be > 0 (got ", norm_type, ")");
}

/// PyTorch's embedding_renorm_: every row of `weight` that `input` looks up
/// (each once, in increasing order) whose norm exceeds max_norm is scaled
/// by max_norm / (norm + 1e-7), in place and unrecorded. The write bumps
/// the weight's version counter like any in-place op.
void renorm_rows(
    const Tensor& weight, const Tensor& input, double max_norm, double p) {
  NoGradGuard no_grad;
  std::vector<int64_t> rows = input.to_vector<int64_t>();
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  const int64_t dim = weight.size(1);
  const int64_t rs = weight.strides()[0], cs = weight.strides()[1];
  dispatch(weight.dtype(), [&]<class T>() {
    T* w = weight.mutable_data<T>();
    for (int64_t r : rows) {
      T* row = w + r * rs;
      double norm = 0;
      if (std::isinf(p)) {
        for (int64_t j = 0; j < dim; ++j)
          norm = std::max(norm, std::abs(static_cast<double>(row[j * cs])));
      } else {
        for (int64_t j = 0; j < dim; ++j)
          norm += std::pow(std::abs(static_cast<double>(row[j * cs])), p);
        norm = std::pow(norm, 1.0 / p);
      }
      if (norm > max_norm) {
        const auto scale = static_cast<T>(max_norm / (norm + 1e-7));
        for (int64_t j = 0; j < dim; ++j)
          row[j * cs] *= scale;
      }
    }
  });
}

Tensor lookup(
    const Tensor& input,
    const Tensor& weight,
    std::optional<int64_t> padding_idx,
    std::optional<double> max_norm,
    double norm_type,
    bool scale_grad_by_freq,
    const char* op) {
  VOXGRAD_CHECK(weight.defined(), op, ": weight is undefined");
  VOXGRAD_CHECK(
      weight.dim() == 2, op,
      ": weight must be 2-D (num_embeddings, embedding_dim) (got ",
      shape_str(weight.shape()), ")");
  VOXGRAD_CHECK(input.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      input.dtype() == kInt64, op, ": the input must hold int64 indices (got ",
      dtype_name(input.dtype()), " ", shape_str(input.shape()),
      "); convert it with .to(kInt64)");
  const int64_t num = weight.size(0);
  padding_idx = resolve_padding(padding_idx, num, op);
  check_norm_options(max_norm, norm_type, op);
  require_floating(weight.dtype(), op, "weight");
  // Checked here too (embedding_op checks again) so that the message names
  // what the user called (Embedding or embedding), and before max_norm
  // writes rows.
  kernels::check_index(
      input, num, op, "index", "the rows of weight (num_embeddings)");
  if (max_norm)
    renorm_rows(weight, input, *max_norm, norm_type);
  return embedding_op(weight, input, padding_idx, scale_grad_by_freq);
}

}  // namespace

namespace functional {
Tensor embedding(
    const Tensor& input,
    const Tensor& weight,
    const EmbeddingFuncOptions& options) {
  return lookup(
      input, weight, options.padding_idx(), options.max_norm(),
      options.norm_type(), options.scale_grad_by_freq(), "embedding");
}
}  // namespace functional

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& options)
    : options_(options) {
  const int64_t num = options.num_embeddings(), dim = options.embedding_dim();
  VOXGRAD_CHECK(
      num >= 0 && dim >= 0,
      "Embedding: num_embeddings and embedding_dim must be >= 0 (got ", num,
      " and ", dim, ")");
  options_.padding_idx(
      resolve_padding(options.padding_idx(), num, "Embedding"));
  check_norm_options(options.max_norm(), options.norm_type(), "Embedding");
  register_parameter("weight", weight_, empty({num, dim}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters(Generator* gen) {
  init::normal_(weight_, 0.0, 1.0, gen);
  if (options_.padding_idx()) {
    NoGradGuard no_grad;
    weight_.select(0, *options_.padding_idx()).fill_(0.0);
  }
}

Embedding Embedding::from_pretrained(
    const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options) {
  VOXGRAD_CHECK(
      embeddings.defined() && embeddings.dim() == 2,
      "Embedding::from_pretrained: embeddings must be 2-D (got ",
      embeddings.defined() ? shape_str(embeddings.shape()) : "undefined", ")");
  require_floating(
      embeddings.dtype(), "Embedding::from_pretrained", "embeddings");
  auto e = std::make_shared<EmbeddingImpl>(
      EmbeddingOptions(embeddings.size(0), embeddings.size(1))
          .padding_idx(options.padding_idx())
          .max_norm(options.max_norm())
          .norm_type(options.norm_type())
          .scale_grad_by_freq(options.scale_grad_by_freq()));
  e->to(embeddings.dtype());
  {
    NoGradGuard no_grad;
    e->weight().copy_(embeddings);
  }
  e->weight().requires_grad_(!options.freeze());
  return Embedding(std::move(e));
}

Tensor EmbeddingImpl::forward(const Tensor& input) {
  return lookup(
      input, weight_, options_.padding_idx(), options_.max_norm(),
      options_.norm_type(), options_.scale_grad_by_freq(), "Embedding");
}

std::string EmbeddingImpl::extra_repr() const {
  std::ostringstream os;
  os << options_.num_embeddings() << ", " << options_.embedding_dim();
  if (options_.padding_idx())
    os << ", padding_idx=" << *options_.padding_idx();
  if (options_.max_norm())
    os << ", max_norm=" << *options_.max_norm();
  if (options_.norm_type() != 2.0)
    os << ", norm_type=" << options_.norm_type();
  if (options_.scale_grad_by_freq())
    os << ", scale_grad_by_freq=true";
  return os.str();
}

// ---- EmbeddingBag -------------------------------------------------------

namespace {

const char* mode_name(EmbeddingBagMode m) {
  switch (m) {
    case EmbeddingBagMode::Sum:
      return "sum";
    case EmbeddingBagMode::Max:
      return "max";
    case EmbeddingBagMode::Mean:
      break;
  }
  return "mean";
}

/// The bags of one call: the indices that take part (padding_idx left out),
/// where they sit in the flat input, the bag of each, and the rows of bag
/// b as [starts[b], starts[b + 1]) of those.
struct Bags {
  std::vector<int64_t> index, position, bag, starts;
};

Bags plan_bags(
    const Tensor& input,
    const Tensor& offsets,
    bool include_last_offset,
    std::optional<int64_t> padding_idx,
    const char* op) {
  const auto idx = input.to_vector<int64_t>();
  const auto n = static_cast<int64_t>(idx.size());
  std::vector<int64_t> bounds;  // B + 1 positions in the flat input
  if (input.dim() == 2) {
    VOXGRAD_CHECK(
        !offsets.defined(), op,
        ": offsets must be undefined for a 2-d input (each row is a bag)");
    for (int64_t b = 0; b <= input.size(0); ++b)
      bounds.push_back(b * input.size(1));
  } else {
    VOXGRAD_CHECK(
        input.dim() == 1, op, ": input must be 1-d (with offsets) or 2-d (got ",
        shape_str(input.shape()), ")");
    VOXGRAD_CHECK(
        offsets.defined() && offsets.dim() == 1 && offsets.dtype() == kInt64,
        op, ": a 1-d input needs 1-d int64 offsets (the start of each bag)");
    bounds = offsets.to_vector<int64_t>();
    if (!include_last_offset)
      bounds.push_back(n);
    VOXGRAD_CHECK(
        !bounds.empty() && (bounds.size() > 1 || include_last_offset), op,
        ": include_last_offset needs at least one offset");
    VOXGRAD_CHECK(
        bounds[0] == 0, op, ": offsets[0] must be 0, the start of the first ",
        "bag (got ", bounds[0], ")");
    for (size_t b = 1; b < bounds.size(); ++b) {
      VOXGRAD_CHECK(
          bounds[b] >= bounds[b - 1] && bounds[b] <= n, op, ": offsets[", b,
          "] = ", bounds[b], " must lie in [offsets[", b - 1,
          "] = ", bounds[b - 1], ", input length ", n, "]");
    }
  }
  Bags out;
  out.starts.push_back(0);
  for (size_t b = 0; b + 1 < bounds.size(); ++b) {
    for (int64_t p = bounds[b]; p < bounds[b + 1]; ++p) {
      if (padding_idx && idx[static_cast<size_t>(p)] == *padding_idx)
        continue;
      out.index.push_back(idx[static_cast<size_t>(p)]);
      out.position.push_back(p);
      out.bag.push_back(static_cast<int64_t>(b));
    }
    out.starts.push_back(static_cast<int64_t>(out.index.size()));
  }
  return out;
}

Tensor int64_tensor(const std::vector<int64_t>& v) {
  return from_blob(v.data(), {static_cast<int64_t>(v.size())});
}

}  // namespace

namespace functional {

Tensor embedding_bag(
    const Tensor& input,
    const Tensor& weight,
    const EmbeddingBagFuncOptions& options) {
  constexpr const char* op = "embedding_bag";
  VOXGRAD_CHECK(weight.defined(), op, ": weight is undefined");
  VOXGRAD_CHECK(
      weight.dim() == 2, op,
      ": weight must be 2-D (num_embeddings, embedding_dim) (got ",
      shape_str(weight.shape()), ")");
  require_floating(weight.dtype(), op, "weight");
  VOXGRAD_CHECK(input.defined(), op, ": the input is undefined");
  VOXGRAD_CHECK(
      input.dtype() == kInt64, op, ": the input must hold int64 indices (got ",
      dtype_name(input.dtype()), " ", shape_str(input.shape()), ")");
  const int64_t num = weight.size(0), dim = weight.size(1);
  const auto padding = resolve_padding(options.padding_idx(), num, op);
  check_norm_options(options.max_norm(), options.norm_type(), op);
  const Tensor& psw = options.per_sample_weights();
  if (psw.defined()) {
    VOXGRAD_CHECK(
        options.mode() == EmbeddingBagMode::Sum, op,
        ": per_sample_weights needs mode sum (got mode ",
        mode_name(options.mode()), "), as in PyTorch");
    VOXGRAD_CHECK(
        psw.shape() == input.shape() && psw.dtype() == weight.dtype(), op,
        ": per_sample_weights (", dtype_name(psw.dtype()), " ",
        shape_str(psw.shape()), ") must be ", dtype_name(weight.dtype()), " ",
        shape_str(input.shape()), ", one weight per index");
  }
  kernels::check_index(
      input, num, op, "index", "the rows of weight (num_embeddings)");
  const Bags bags = plan_bags(
      input, options.offsets(), options.include_last_offset(), padding, op);
  if (options.max_norm())
    renorm_rows(weight, input, *options.max_norm(), options.norm_type());
  const auto nbags = static_cast<int64_t>(bags.starts.size()) - 1;
  const Tensor zero = zeros({nbags, dim}, weight.dtype());
  const Tensor bag_of = int64_tensor(bags.bag);
  // The looked-up rows (m, dim), recorded: their gradients reach weight.
  Tensor rows = embedding_op(
      weight, int64_tensor(bags.index), std::nullopt,
      options.scale_grad_by_freq());
  switch (options.mode()) {
    case EmbeddingBagMode::Sum:
      if (psw.defined()) {
        rows = rows *
               index_select(psw.reshape({-1}), 0, int64_tensor(bags.position))
                   .unsqueeze(1);
      }
      return index_add(zero, 0, bag_of, rows);
    case EmbeddingBagMode::Mean: {
      std::vector<double> count(static_cast<size_t>(nbags));
      for (int64_t b = 0; b < nbags; ++b) {
        const int64_t c = bags.starts[size_t(b) + 1] - bags.starts[size_t(b)];
        count[size_t(b)] = static_cast<double>(std::max<int64_t>(c, 1));
      }
      return index_add(zero, 0, bag_of, rows) /
             tensor(count, {nbags, 1}, weight.dtype());
    }
    case EmbeddingBagMode::Max:
      break;
  }
  if (rows.size(0) == 0)  // no row at all: zeros, still on the graph
    return index_add(zero, 0, bag_of, rows);
  // The first maximum of each column of each bag; an empty bag reads row 0
  // and is then masked to 0.
  std::vector<int64_t> at =
      kernels::segment_argmax(rows.detach(), bags.starts).to_vector<int64_t>();
  std::vector<int64_t> nonempty(static_cast<size_t>(nbags));
  for (int64_t b = 0; b < nbags; ++b)
    nonempty[size_t(b)] = bags.starts[size_t(b) + 1] > bags.starts[size_t(b)];
  for (int64_t& a : at)
    a = std::max<int64_t>(a, 0);
  const Tensor picked = gather(rows, 0, from_blob(at.data(), {nbags, dim}));
  return where(
      from_blob(nonempty.data(), {nbags, 1}), picked,
      zeros({}, weight.dtype()));
}

}  // namespace functional

EmbeddingBagImpl::EmbeddingBagImpl(const EmbeddingBagOptions& options)
    : options_(options) {
  const int64_t num = options.num_embeddings(), dim = options.embedding_dim();
  VOXGRAD_CHECK(
      num >= 0 && dim >= 0,
      "EmbeddingBag: num_embeddings and embedding_dim must be >= 0 (got ", num,
      " and ", dim, ")");
  options_.padding_idx(
      resolve_padding(options.padding_idx(), num, "EmbeddingBag"));
  check_norm_options(options.max_norm(), options.norm_type(), "EmbeddingBag");
  weight_ = register_parameter("weight", empty({num, dim}));
  reset_parameters();
}

void EmbeddingBagImpl::reset_parameters(Generator* gen) {
  init::normal_(weight_, 0.0, 1.0, gen);
  if (options_.padding_idx()) {
    NoGradGuard no_grad;
    weight_.select(0, *options_.padding_idx()).fill_(0.0);
  }
}

Tensor EmbeddingBagImpl::forward(
    const Tensor& input,
    const Tensor& offsets,
    const Tensor& per_sample_weights) {
  return functional::embedding_bag(
      input, weight_,
      functional::EmbeddingBagFuncOptions()
          .offsets(offsets)
          .per_sample_weights(per_sample_weights)
          .max_norm(options_.max_norm())
          .norm_type(options_.norm_type())
          .scale_grad_by_freq(options_.scale_grad_by_freq())
          .mode(options_.mode())
          .include_last_offset(options_.include_last_offset())
          .padding_idx(options_.padding_idx()));
}

std::string EmbeddingBagImpl::extra_repr() const {
  std::ostringstream os;
  os << options_.num_embeddings() << ", " << options_.embedding_dim()
     << ", mode=" << mode_name(options_.mode());
  if (options_.padding_idx())
    os << ", padding_idx=" << *options_.padding_idx();
  if (options_.max_norm())
    os << ", max_norm=" << *options_.max_norm();
  if (options_.include_last_offset())
    os << ", include_last_offset=true";
  return os.str();
}

}  // namespace voxgrad::nn
