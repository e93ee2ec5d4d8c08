#pragma once
// Attention: F::scaled_dot_product_attention (PyTorch 2.x's
// torch.nn.functional.scaled_dot_product_attention) and
// nn::MultiheadAttention (torch.nn.MultiheadAttention of PyTorch 1.13).
//
// NOTE [ Attention is composed, not fused ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Both are written with existing differentiable ops: scores =
// matmul(q / sqrt(E), k^T) (+ the additive mask), softmax over the last
// axis (fused, max-subtracted), dropout, matmul with v. So they have no
// ops.def line of their own: the derivatives of every order come from
// matmul, add and softmax, whose own gradcheck and gradgradcheck cases are
// in the op list, and tests/nn/test_attention.cpp gradchecks and
// gradgradchecks the compositions in float64. The GEMMs take the per-head
// strided views as they are (no copies), and the softmax is one fused pass,
// so a fused attention kernel would save the (L, S) score tensor's memory
// traffic only; at the sizes 3-D U-Nets use attention at (8^3 = 512 tokens)
// the GEMMs dominate (voxgrad-bench --model attention).
//
// Masks. voxgrad has no bool dtype: a boolean mask is an int64 tensor
// (non-zero = true), as masked_fill and where take it; a float mask (the
// query's dtype) is added to the scores. The two APIs read a boolean mask
// oppositely, as PyTorch does: for scaled_dot_product_attention true means
// "takes part", for MultiheadAttention true means "masked out".
//
// A fully masked row (every key masked out) has no softmax. PyTorch answers
// two ways and each API here follows its model: scaled_dot_product_attention
// gives weights 0, so an output row of 0 and gradients 0 for that row (PyTorch
// >= 2.5's math backend, _safe_softmax; 2.0 to 2.4 gave NaN), where "fully
// masked" is read from the mask (-inf, or false, for every key);
// MultiheadAttention gives NaN (outputs, weights and the gradients that
// reach them), as PyTorch 1.13's does.

#include <optional>
#include <string>
#include <tuple>

#include "voxgrad/core/random.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

namespace functional {

/// softmax(q k^T * scale + mask) v over query (..., L, E), key (..., S, E)
/// and value (..., S, Ev) -> (..., L, Ev); the batch axes broadcast.
/// attn_mask broadcasts to (..., L, S): int64 (boolean, non-zero = the pair
/// takes part) or float in the query's dtype (added to the scores, and
/// differentiated). is_causal masks out key positions after the query's
/// (top-left aligned lower triangle, for L != S too) and excludes
/// attn_mask. scale defaults to 1 / sqrt(E) (applied as q / sqrt(E), as
/// PyTorch 1.13's MultiheadAttention does; a given scale multiplies q).
/// dropout_p > 0 drops attention weights always (the functional has no
/// training flag, as in PyTorch), drawing from `gen` or the default
/// generator.
///   Tensor y = F::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
Tensor scaled_dot_product_attention(
    const Tensor& query,
    const Tensor& key,
    const Tensor& value,
    const Tensor& attn_mask = {},
    double dropout_p = 0.0,
    bool is_causal = false,
    std::optional<double> scale = std::nullopt,
    Generator* gen = nullptr);

}  // namespace functional

/// MultiheadAttentionOptions(64, 4).dropout(0.1).batch_first(true):
/// libtorch's fields and defaults (kdim and vdim default to embed_dim) plus
/// PyTorch's batch_first.
struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim),
        num_heads_(num_heads),
        kdim_(embed_dim),
        vdim_(embed_dim) {}
#define VOXGRAD_MHA_OPTION(type, name)             \
  MultiheadAttentionOptions& name(const type& v) { \
    name##_ = v;                                   \
    return *this;                                  \
  }                                                \
  const type& name() const {                       \
    return name##_;                                \
  }
  VOXGRAD_MHA_OPTION(int64_t, embed_dim)
  VOXGRAD_MHA_OPTION(int64_t, num_heads)
  /// Dropout on the attention weights, in training mode.
  VOXGRAD_MHA_OPTION(double, dropout)
  /// Biases of the in- and out-projections.
  VOXGRAD_MHA_OPTION(bool, bias)
  /// Learned bias_k / bias_v (1, 1, E) appended to the key and value
  /// sequences.
  VOXGRAD_MHA_OPTION(bool, add_bias_kv)
  /// A zero key and value appended to each head's sequence.
  VOXGRAD_MHA_OPTION(bool, add_zero_attn)
  /// Feature sizes of key and value; when either differs from embed_dim
  /// the projections are q_proj_weight, k_proj_weight, v_proj_weight instead
  /// of the packed in_proj_weight.
  VOXGRAD_MHA_OPTION(int64_t, kdim)
  VOXGRAD_MHA_OPTION(int64_t, vdim)
  /// Inputs and output (N, L, E) instead of (L, N, E).
  VOXGRAD_MHA_OPTION(bool, batch_first)
#undef VOXGRAD_MHA_OPTION

 private:
  int64_t embed_dim_;
  int64_t num_heads_;
  double dropout_ = 0.0;
  bool bias_ = true;
  bool add_bias_kv_ = false;
  bool add_zero_attn_ = false;
  int64_t kdim_;
  int64_t vdim_;
  bool batch_first_ = false;
};

/// torch.nn.MultiheadAttention (1.13): query (L, N, E) (or (N, L, E) with
/// batch_first, or unbatched (L, E)), key (S, N, kdim), value (S, N, vdim).
/// Parameters and their names are PyTorch's, so a PyTorch state_dict loads
/// as is: in_proj_weight (3E, E) and in_proj_bias (3E) (or q_proj_weight
/// (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim) when kdim or vdim
/// differs from E), bias_k and bias_v (1, 1, E) with add_bias_kv, and the
/// child out_proj (a Linear E -> E). Initialised as PyTorch: xavier_uniform
/// projections, zero in/out biases, xavier_normal bias_k / bias_v, out_proj's
/// weight as Linear's.
///
/// forward returns (attn_output, attn_weights): the weights (N, L, S)
/// averaged over heads, or per head (N, num_heads, L, S) without
/// average_attn_weights, (L, S) / (num_heads, L, S) unbatched; undefined
/// without need_weights. key_padding_mask (N, S) or (S): int64 (true =
/// that key is padding, ignored) or float (added). attn_mask (L, S) or
/// (N * num_heads, L, S): int64 (true = NOT allowed to attend; the opposite
/// of scaled_dot_product_attention's boolean mask, as in PyTorch) or float
/// (added to the scores). Masks are converted to additive float masks and
/// summed (PyTorch 1.13 instead ORs a float key_padding_mask into a boolean
/// attn_mask; the two agree on boolean masks).
///   nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(64, 4));
///   auto [y, w] = mha(x, x, x);
class MultiheadAttentionImpl : public Module {
 public:
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttentionImpl(
            MultiheadAttentionOptions(embed_dim, num_heads)) {}

  std::tuple<Tensor, Tensor> forward(
      const Tensor& query,
      const Tensor& key,
      const Tensor& value,
      const Tensor& key_padding_mask = {},
      bool need_weights = true,
      const Tensor& attn_mask = {},
      bool average_attn_weights = true);

  /// Re-draws the parameters as the constructor does.
  void reset_parameters(Generator* gen = nullptr);

  const MultiheadAttentionOptions& options() const {
    return options_;
  }
  /// True when kdim == vdim == embed_dim (one packed in_proj_weight).
  bool qkv_same_embed_dim() const {
    return same_dim_;
  }
  /// Undefined when the projections are separate.
  const Tensor& in_proj_weight() const {
    return in_proj_weight_;
  }
  /// Undefined with bias(false).
  const Tensor& in_proj_bias() const {
    return in_proj_bias_;
  }
  /// Defined only when the projections are separate.
  const Tensor& q_proj_weight() const {
    return q_proj_weight_;
  }
  const Tensor& k_proj_weight() const {
    return k_proj_weight_;
  }
  const Tensor& v_proj_weight() const {
    return v_proj_weight_;
  }
  /// Defined only with add_bias_kv.
  const Tensor& bias_k() const {
    return bias_k_;
  }
  const Tensor& bias_v() const {
    return bias_v_;
  }
  const Linear& out_proj() const {
    return out_proj_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  MultiheadAttentionOptions options_;
  bool same_dim_;
  Tensor in_proj_weight_, in_proj_bias_;
  Tensor q_proj_weight_, k_proj_weight_, v_proj_weight_;
  Tensor bias_k_, bias_v_;
  Linear out_proj_;
};
VOXGRAD_MODULE(MultiheadAttention);

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
