#pragma once
// nn::Embedding, PyTorch's nn.Embedding: a (num_embeddings, embedding_dim)
// table looked up by int64 indices of any shape, with padding_idx (that
// row gets no gradient) and max_norm (looked-up rows are renormalised in
// place, under no-grad, before the lookup, as PyTorch does); and
// nn::EmbeddingBag, which sums, averages or takes the maximum of the rows
// of each bag of indices without materialising the lookups' graph.

#include <optional>
#include <string>
#include <utility>

#include "voxgrad/core/random.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// EmbeddingOptions(10, 3).padding_idx(0).max_norm(1.0)
struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// This row's gradient is always zero; negative counts from the end.
  EmbeddingOptions& padding_idx(std::optional<int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  /// Rows looked up with a norm above it are scaled to it (in place).
  EmbeddingOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  /// The p of the p-norm for max_norm (default 2).
  EmbeddingOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  /// Divides each row's gradient by how often the batch looks it up.
  EmbeddingOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  int64_t num_embeddings() const {
    return num_embeddings_;
  }
  int64_t embedding_dim() const {
    return embedding_dim_;
  }
  std::optional<int64_t> padding_idx() const {
    return padding_idx_;
  }
  std::optional<double> max_norm() const {
    return max_norm_;
  }
  double norm_type() const {
    return norm_type_;
  }
  bool scale_grad_by_freq() const {
    return scale_grad_by_freq_;
  }

 private:
  int64_t num_embeddings_;
  int64_t embedding_dim_;
  std::optional<int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
};

/// Embedding::from_pretrained(w,
/// EmbeddingFromPretrainedOptions().freeze(false))
struct EmbeddingFromPretrainedOptions {
  /// The table gets no gradient (default true).
  EmbeddingFromPretrainedOptions& freeze(bool on) {
    freeze_ = on;
    return *this;
  }
  EmbeddingFromPretrainedOptions& padding_idx(std::optional<int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  EmbeddingFromPretrainedOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  EmbeddingFromPretrainedOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  EmbeddingFromPretrainedOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  bool freeze() const {
    return freeze_;
  }
  std::optional<int64_t> padding_idx() const {
    return padding_idx_;
  }
  std::optional<double> max_norm() const {
    return max_norm_;
  }
  double norm_type() const {
    return norm_type_;
  }
  bool scale_grad_by_freq() const {
    return scale_grad_by_freq_;
  }

 private:
  bool freeze_ = true;
  std::optional<int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
};

namespace functional {
/// The lookup options of F::embedding (those of EmbeddingOptions but the
/// sizes, which come from the weight).
struct EmbeddingFuncOptions {
  EmbeddingFuncOptions& padding_idx(std::optional<int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  EmbeddingFuncOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  EmbeddingFuncOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  EmbeddingFuncOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  std::optional<int64_t> padding_idx() const {
    return padding_idx_;
  }
  std::optional<double> max_norm() const {
    return max_norm_;
  }
  double norm_type() const {
    return norm_type_;
  }
  bool scale_grad_by_freq() const {
    return scale_grad_by_freq_;
  }

 private:
  std::optional<int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
};

/// Rows of `weight` (num, dim) at int64 `input` (any shape): (*, dim).
/// ```cpp
/// auto e = F::embedding(labels, table, F::EmbeddingFuncOptions()
///                                          .padding_idx(0));
/// ```
Tensor embedding(
    const Tensor& input,
    const Tensor& weight,
    const EmbeddingFuncOptions& options = {});
}  // namespace functional

/// Initialised as PyTorch: weight ~ N(0, 1), the padding row zero.
/// ```cpp
/// nn::Embedding embed(nn::EmbeddingOptions(10, 16).padding_idx(0));
/// Tensor e = embed(class_labels);  // (N) int64 -> (N, 16)
/// ```
class EmbeddingImpl : public Module {
 public:
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}

  Tensor forward(const Tensor& input);
  /// Re-draws the weight as the constructor does.
  void reset_parameters(Generator* gen = nullptr);

  const EmbeddingOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  EmbeddingOptions options_;
  Tensor weight_;
};
/// The handle (VOXGRAD_MODULE's, plus from_pretrained as in libtorch).
class Embedding : public ModuleHolder<EmbeddingImpl> {
 public:
  using ModuleHolder<EmbeddingImpl>::ModuleHolder;
  /// An Embedding holding a copy of `embeddings` (num, dim); frozen (no
  /// gradient) unless options.freeze(false).
  /// ```cpp
  /// auto e = nn::Embedding::from_pretrained(table);
  /// ```
  static Embedding from_pretrained(
      const Tensor& embeddings,
      const EmbeddingFromPretrainedOptions& options = {});
};

// ---- EmbeddingBag -------------------------------------------------------

/// How EmbeddingBag reduces the rows of a bag.
enum class EmbeddingBagMode { Sum, Mean, Max };

/// EmbeddingBagOptions(10, 3).mode(EmbeddingBagMode::Sum).padding_idx(0)
struct EmbeddingBagOptions {
  EmbeddingBagOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  EmbeddingBagOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  EmbeddingBagOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  EmbeddingBagOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  /// Mean by default, as PyTorch.
  EmbeddingBagOptions& mode(EmbeddingBagMode m) {
    mode_ = m;
    return *this;
  }
  /// offsets has B + 1 entries, the last the input's length.
  EmbeddingBagOptions& include_last_offset(bool on) {
    include_last_offset_ = on;
    return *this;
  }
  /// Indices equal to it are left out of their bag (and of its count).
  EmbeddingBagOptions& padding_idx(std::optional<int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  int64_t num_embeddings() const {
    return num_embeddings_;
  }
  int64_t embedding_dim() const {
    return embedding_dim_;
  }
  std::optional<double> max_norm() const {
    return max_norm_;
  }
  double norm_type() const {
    return norm_type_;
  }
  bool scale_grad_by_freq() const {
    return scale_grad_by_freq_;
  }
  EmbeddingBagMode mode() const {
    return mode_;
  }
  bool include_last_offset() const {
    return include_last_offset_;
  }
  std::optional<int64_t> padding_idx() const {
    return padding_idx_;
  }

 private:
  int64_t num_embeddings_;
  int64_t embedding_dim_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
  EmbeddingBagMode mode_ = EmbeddingBagMode::Mean;
  bool include_last_offset_ = false;
  std::optional<int64_t> padding_idx_;
};

namespace functional {

/// F::embedding_bag's options: EmbeddingBagOptions' without the sizes, plus
/// offsets and per_sample_weights.
struct EmbeddingBagFuncOptions {
  /// Start of each bag in a 1-d input (first 0, nondecreasing).
  EmbeddingBagFuncOptions& offsets(Tensor o) {
    offsets_ = std::move(o);
    return *this;
  }
  /// One weight per index (mode Sum only), multiplied into its row.
  EmbeddingBagFuncOptions& per_sample_weights(Tensor w) {
    per_sample_weights_ = std::move(w);
    return *this;
  }
  EmbeddingBagFuncOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  EmbeddingBagFuncOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  EmbeddingBagFuncOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  EmbeddingBagFuncOptions& mode(EmbeddingBagMode m) {
    mode_ = m;
    return *this;
  }
  EmbeddingBagFuncOptions& include_last_offset(bool on) {
    include_last_offset_ = on;
    return *this;
  }
  EmbeddingBagFuncOptions& padding_idx(std::optional<int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  const Tensor& offsets() const {
    return offsets_;
  }
  const Tensor& per_sample_weights() const {
    return per_sample_weights_;
  }
  std::optional<double> max_norm() const {
    return max_norm_;
  }
  double norm_type() const {
    return norm_type_;
  }
  bool scale_grad_by_freq() const {
    return scale_grad_by_freq_;
  }
  EmbeddingBagMode mode() const {
    return mode_;
  }
  bool include_last_offset() const {
    return include_last_offset_;
  }
  std::optional<int64_t> padding_idx() const {
    return padding_idx_;
  }

 private:
  Tensor offsets_;
  Tensor per_sample_weights_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
  EmbeddingBagMode mode_ = EmbeddingBagMode::Mean;
  bool include_last_offset_ = false;
  std::optional<int64_t> padding_idx_;
};

/// One row per bag (B, dim): the sum, mean or element-wise maximum of the
/// rows of `weight` at the bag's indices. A 2-d input (B, L) is B bags of L;
/// a 1-d input is cut at `offsets`. Empty bags give zeros. Gradients: to
/// each looked-up row (the maximum's row only, per element, in Max mode)
/// and to per_sample_weights.
/// ```cpp
/// auto h = F::embedding_bag(tokens, table, F::EmbeddingBagFuncOptions()
///                                              .offsets(starts)
///                                              .mode(EmbeddingBagMode::Sum));
/// ```
Tensor embedding_bag(
    const Tensor& input,
    const Tensor& weight,
    const EmbeddingBagFuncOptions& options = {});

}  // namespace functional

/// Initialised as PyTorch: weight ~ N(0, 1), the padding row zero.
/// ```cpp
/// nn::EmbeddingBag bag(nn::EmbeddingBagOptions(100, 8));
/// Tensor h = bag(tokens, offsets);  // (B, 8)
/// ```
class EmbeddingBagImpl : public Module {
 public:
  explicit EmbeddingBagImpl(const EmbeddingBagOptions& options);

  /// offsets and per_sample_weights as in F::embedding_bag.
  Tensor forward(
      const Tensor& input,
      const Tensor& offsets = {},
      const Tensor& per_sample_weights = {});
  void reset_parameters(Generator* gen = nullptr);

  const EmbeddingBagOptions& options() const {
    return options_;
  }
  const Tensor& weight() const {
    return weight_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  EmbeddingBagOptions options_;
  Tensor weight_;
};
VOXGRAD_MODULE(EmbeddingBag);

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
