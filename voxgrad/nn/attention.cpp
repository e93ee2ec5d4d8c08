// scaled_dot_product_attention and MultiheadAttention, composed of
// differentiable ops (NOTE [ Attention is composed, not fused ] in
// attention.hpp).

#include "voxgrad/nn/attention.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/shape.hpp"
#include "voxgrad/nn/dropout.hpp"
#include "voxgrad/nn/init.hpp"

namespace voxgrad::nn {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : std::string("undefined");
}

/// softmax(q k^T * scale + mask) over the last axis: the attention weights.
/// q (..., L, E), k (..., S, E), mask additive (broadcast to (..., L, S)) or
/// undefined. The default scale divides q by sqrt(E), as PyTorch 1.13's
/// multi_head_attention_forward does. With zero_masked_rows, a row whose
/// mask is -inf everywhere gets weights 0 (PyTorch >= 2.5's _safe_softmax):
/// its scores are replaced by 0 before the softmax and its weights by 0
/// after, so no NaN reaches the gradients either (they are 0 there).
Tensor attention_weights(
    const Tensor& q,
    const Tensor& k,
    const Tensor& mask,
    std::optional<double> scale,
    bool zero_masked_rows) {
  const Tensor qs =
      scale ? q * *scale : q / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor scores = matmul(qs, k.transpose(-2, -1));
  if (!mask.defined())
    return softmax(scores, -1);
  scores = scores + mask;
  if (zero_masked_rows && mask.numel() > 0) {
    // 1 where the row keeps no key (a 0/1 mask in the scores' dtype).
    const Tensor dead = amin(eq(mask.detach(), kNegInf), {-1}, true);
    if (amax(dead).item() > 0) {
      const Tensor zero = scalar_tensor(0, scores.dtype());
      return where(dead, zero, softmax(where(dead, zero, scores), -1));
    }
  }
  return softmax(scores, -1);
}

/// An int64 boolean mask as an additive one in `dtype`: -inf where `mask`
/// is non-zero (fill_where_true) or zero (otherwise), 0 elsewhere.
Tensor additive_mask(const Tensor& mask, bool fill_where_true, Dtype dtype) {
  const Tensor fill = fill_where_true ? mask : eq(mask, 0.0);
  return masked_fill(zeros(mask.shape(), dtype), fill, kNegInf);
}

/// (L, S): 0 on and below the diagonal, -inf above (torch.ones(L, S).tril()
/// as a mask: query i sees keys 0..i).
Tensor causal_mask(int64_t L, int64_t S, Dtype dtype) {
  std::vector<double> v(static_cast<size_t>(L * S), 0.0);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = i + 1; j < S; ++j)
      v[static_cast<size_t>(i * S + j)] = kNegInf;
  return tensor(v, {L, S}, dtype);
}

/// A mask must be int64 (boolean) or the query's float dtype.
void check_mask_dtype(
    const Tensor& m, Dtype dt, const char* op, const char* arg) {
  VOXGRAD_CHECK(
      m.dtype() == kInt64 || m.dtype() == dt, op, ": ", arg, " is ",
      dtype_name(m.dtype()),
      ", but must be int64 (a boolean mask) or the "
      "query's dtype ",
      dtype_name(dt), " (added to the scores)");
}

}  // namespace

namespace functional {

Tensor scaled_dot_product_attention(
    const Tensor& query,
    const Tensor& key,
    const Tensor& value,
    const Tensor& attn_mask,
    double dropout_p,
    bool is_causal,
    std::optional<double> scale,
    Generator* gen) {
  constexpr const char* op = "scaled_dot_product_attention";
  VOXGRAD_CHECK(
      query.defined() && key.defined() && value.defined(), op,
      ": query, key and value must be defined (got ", shape_or_undefined(query),
      ", ", shape_or_undefined(key), ", ", shape_or_undefined(value), ")");
  require_floating(query.dtype(), op, "query");
  const Dtype dt = query.dtype();
  VOXGRAD_CHECK(
      key.dtype() == dt && value.dtype() == dt, op,
      ": query, key and value must have one dtype (got ", dtype_name(dt), ", ",
      dtype_name(key.dtype()), ", ", dtype_name(value.dtype()), ")");
  VOXGRAD_CHECK(
      query.dim() >= 2 && key.dim() >= 2 && value.dim() >= 2, op,
      ": query (..., L, E), key (..., S, E) and value (..., S, Ev) need at "
      "least 2 axes (got ",
      shape_str(query.shape()), ", ", shape_str(key.shape()), ", ",
      shape_str(value.shape()), ")");
  const int64_t L = query.size(-2), S = key.size(-2), E = query.size(-1);
  VOXGRAD_CHECK(
      key.size(-1) == E, op, ": key ", shape_str(key.shape()),
      " must end in the query's embedding size E = ", E, " (query ",
      shape_str(query.shape()), ")");
  VOXGRAD_CHECK(
      value.size(-2) == S, op, ": value ", shape_str(value.shape()),
      " must have the key's sequence length S = ", S, " on axis -2 (key ",
      shape_str(key.shape()), ")");
  // The batch axes broadcast (matmul's rule); the mask may not enlarge them.
  const Shape qb(query.shape().begin(), query.shape().end() - 2);
  const Shape kb(key.shape().begin(), key.shape().end() - 2);
  const Shape vb(value.shape().begin(), value.shape().end() - 2);
  Shape scores = broadcast_shapes(broadcast_shapes(qb, kb, op), vb, op);
  scores.insert(scores.end(), {L, S});
  VOXGRAD_CHECK(
      std::isfinite(dropout_p) && dropout_p >= 0 && dropout_p <= 1, op,
      ": dropout_p must be in [0, 1] (got ", dropout_p, ")");
  if (scale) {
    VOXGRAD_CHECK(
        std::isfinite(*scale), op, ": scale must be finite (got ", *scale, ")");
  } else {
    VOXGRAD_CHECK(
        E > 0, op, ": the default scale 1 / sqrt(E) needs E > 0 (query ",
        shape_str(query.shape()), "); pass a scale");
  }
  Tensor bias;
  if (is_causal) {
    VOXGRAD_CHECK(
        !attn_mask.defined(), op,
        ": attn_mask must not be given with is_causal = true (the causal "
        "mask is the lower triangle; got attn_mask ",
        shape_str(attn_mask.shape()), "), as in PyTorch");
    bias = causal_mask(L, S, dt);
  } else if (attn_mask.defined()) {
    check_mask_dtype(attn_mask, dt, op, "attn_mask");
    VOXGRAD_CHECK(
        is_broadcastable_to(attn_mask.shape(), scores), op, ": attn_mask ",
        shape_str(attn_mask.shape()),
        " must broadcast to the scores' shape (..., L, S) = ",
        shape_str(scores));
    bias = attn_mask.dtype() == kInt64
               ? additive_mask(attn_mask, /*fill_where_true=*/false, dt)
               : attn_mask;
  }
  Tensor w = attention_weights(query, key, bias, scale, true);
  if (dropout_p > 0)
    w = dropout(w, dropout_p, /*training=*/true, gen);
  return matmul(w, value);
}

}  // namespace functional

MultiheadAttentionImpl::MultiheadAttentionImpl(
    const MultiheadAttentionOptions& options)
    : options_(options) {
  constexpr const char* op = "MultiheadAttention";
  const int64_t E = options.embed_dim(), H = options.num_heads();
  VOXGRAD_CHECK(E > 0, op, ": embed_dim must be > 0 (got ", E, ")");
  VOXGRAD_CHECK(H > 0, op, ": num_heads must be > 0 (got ", H, ")");
  VOXGRAD_CHECK(
      E % H == 0, op, ": embed_dim ", E, " must be divisible by num_heads ", H);
  VOXGRAD_CHECK(
      options.kdim() > 0 && options.vdim() > 0, op,
      ": kdim and vdim must be > 0 (got ", options.kdim(), " and ",
      options.vdim(), ")");
  const double p = options.dropout();
  VOXGRAD_CHECK(
      std::isfinite(p) && p >= 0 && p <= 1, op,
      ": dropout must be in [0, 1] (got ", p, ")");
  same_dim_ = options.kdim() == E && options.vdim() == E;
  // PyTorch's registration order, so state_dict() lists the same keys in the
  // same order.
  if (same_dim_) {
    in_proj_weight_ = register_parameter("in_proj_weight", empty({3 * E, E}));
  } else {
    q_proj_weight_ = register_parameter("q_proj_weight", empty({E, E}));
    k_proj_weight_ =
        register_parameter("k_proj_weight", empty({E, options.kdim()}));
    v_proj_weight_ =
        register_parameter("v_proj_weight", empty({E, options.vdim()}));
  }
  if (options.bias())
    in_proj_bias_ = register_parameter("in_proj_bias", empty({3 * E}));
  out_proj_ = register_module(
      "out_proj", Linear(LinearOptions(E, E).bias(options.bias())));
  if (options.add_bias_kv()) {
    bias_k_ = register_parameter("bias_k", empty({1, 1, E}));
    bias_v_ = register_parameter("bias_v", empty({1, 1, E}));
  }
  reset_parameters();
}

void MultiheadAttentionImpl::reset_parameters(Generator* gen) {
  if (same_dim_) {
    init::xavier_uniform_(in_proj_weight_, 1.0, gen);
  } else {
    init::xavier_uniform_(q_proj_weight_, 1.0, gen);
    init::xavier_uniform_(k_proj_weight_, 1.0, gen);
    init::xavier_uniform_(v_proj_weight_, 1.0, gen);
  }
  out_proj_->reset_parameters(gen);
  if (in_proj_bias_.defined()) {
    init::zeros_(in_proj_bias_);
    init::zeros_(out_proj_->bias());
  }
  if (bias_k_.defined()) {
    init::xavier_normal_(bias_k_, 1.0, gen);
    init::xavier_normal_(bias_v_, 1.0, gen);
  }
}

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(
    const Tensor& query,
    const Tensor& key,
    const Tensor& value,
    const Tensor& key_padding_mask,
    bool need_weights,
    const Tensor& attn_mask,
    bool average_attn_weights) {
  constexpr const char* op = "MultiheadAttention";
  const int64_t E = options_.embed_dim(), H = options_.num_heads();
  const int64_t hd = E / H;
  VOXGRAD_CHECK(
      query.defined() && key.defined() && value.defined(), op,
      ": query, key and value must be defined (got ", shape_or_undefined(query),
      ", ", shape_or_undefined(key), ", ", shape_or_undefined(value), ")");
  const Dtype dt = (same_dim_ ? in_proj_weight_ : q_proj_weight_).dtype();
  VOXGRAD_CHECK(
      query.dtype() == dt && key.dtype() == dt && value.dtype() == dt, op,
      ": query, key and value are ", dtype_name(query.dtype()), ", ",
      dtype_name(key.dtype()), ", ", dtype_name(value.dtype()),
      " but the parameters are ", dtype_name(dt),
      "; convert the inputs with .to(...) or the module with .to(dtype)");
  VOXGRAD_CHECK(
      query.dim() == 2 || query.dim() == 3, op, ": query must be ",
      options_.batch_first() ? "(N, L, E)" : "(L, N, E)",
      " or unbatched (L, E) (got ", shape_str(query.shape()), ")");
  const bool batched = query.dim() == 3;
  VOXGRAD_CHECK(
      key.dim() == query.dim() && value.dim() == query.dim(), op, ": for a ",
      query.dim(), "-d query ", shape_str(query.shape()),
      ", key and value must be ", query.dim(), "-d too (got ",
      shape_str(key.shape()), " and ", shape_str(value.shape()), ")");
  Tensor q = query, k = key, v = value;
  if (!batched) {
    q = q.unsqueeze(1);
    k = k.unsqueeze(1);
    v = v.unsqueeze(1);
  } else if (options_.batch_first()) {
    q = q.transpose(0, 1);
    k = k.transpose(0, 1);
    v = v.transpose(0, 1);
  }
  // Now (L, N, E), (S, N, kdim), (S, N, vdim).
  const int64_t L = q.size(0), N = q.size(1), S = k.size(0);
  VOXGRAD_CHECK(
      q.size(2) == E, op, ": query ", shape_str(query.shape()),
      " must end in embed_dim = ", E);
  VOXGRAD_CHECK(
      k.size(2) == options_.kdim() && v.size(2) == options_.vdim(), op,
      ": key ", shape_str(key.shape()), " and value ", shape_str(value.shape()),
      " must end in kdim = ", options_.kdim(), " and vdim = ", options_.vdim());
  VOXGRAD_CHECK(
      k.size(1) == N && v.size(1) == N && v.size(0) == S, op, ": key ",
      shape_str(key.shape()), " and value ", shape_str(value.shape()),
      " must have the query's batch size ", N,
      " and one sequence length between them");
  Tensor km;  // key padding, additive, (N, S)
  if (key_padding_mask.defined()) {
    check_mask_dtype(key_padding_mask, dt, op, "key_padding_mask");
    const Shape want = batched ? Shape{N, S} : Shape{S};
    VOXGRAD_CHECK(
        key_padding_mask.shape() == want, op, ": key_padding_mask must be ",
        shape_str(want), " (batch, source length), got ",
        shape_str(key_padding_mask.shape()));
    km = key_padding_mask.dtype() == kInt64
             ? additive_mask(key_padding_mask, /*fill_where_true=*/true, dt)
             : key_padding_mask;
    if (!batched)
      km = km.unsqueeze(0);
  }
  Tensor am;  // attention mask, additive, (1 or N * H, L, S)
  if (attn_mask.defined()) {
    check_mask_dtype(attn_mask, dt, op, "attn_mask");
    const bool ok =
        (attn_mask.dim() == 2 && attn_mask.shape() == Shape{L, S}) ||
        (attn_mask.dim() == 3 && attn_mask.shape() == Shape{N * H, L, S});
    VOXGRAD_CHECK(
        ok, op, ": attn_mask must be (L, S) = ", shape_str({L, S}),
        " or (N * num_heads, L, S) = ", shape_str({N * H, L, S}), ", got ",
        shape_str(attn_mask.shape()));
    am = attn_mask.dtype() == kInt64
             ? additive_mask(attn_mask, /*fill_where_true=*/true, dt)
             : attn_mask;
    if (am.dim() == 2)
      am = am.unsqueeze(0);
  }

  // In-projection: one GEMM for self-attention (query, key and value one
  // tensor), as PyTorch's _in_projection_packed.
  Tensor qp, kp, vp;
  const Tensor& b = in_proj_bias_;
  auto bias_part = [&](int64_t i) {
    return b.defined() ? b.slice(0, i * E, (i + 1) * E) : Tensor();
  };
  if (same_dim_) {
    const Tensor& w = in_proj_weight_;
    if (query.impl() == key.impl() && key.impl() == value.impl()) {
      const Tensor proj = functional::linear(q, w, b);
      qp = proj.slice(2, 0, E);
      kp = proj.slice(2, E, 2 * E);
      vp = proj.slice(2, 2 * E, 3 * E);
    } else {
      qp = functional::linear(q, w.slice(0, 0, E), bias_part(0));
      kp = functional::linear(k, w.slice(0, E, 2 * E), bias_part(1));
      vp = functional::linear(v, w.slice(0, 2 * E, 3 * E), bias_part(2));
    }
  } else {
    qp = functional::linear(q, q_proj_weight_, bias_part(0));
    kp = functional::linear(k, k_proj_weight_, bias_part(1));
    vp = functional::linear(v, v_proj_weight_, bias_part(2));
  }
  if (bias_k_.defined()) {
    kp = cat({kp, bias_k_.expand({1, N, E})}, 0);
    vp = cat({vp, bias_v_.expand({1, N, E})}, 0);
    if (am.defined())
      am = pad(am, {0, 1});
    if (km.defined())
      km = pad(km, {0, 1});
  }
  // Heads: (L, N, E) -> (N * H, L, hd).
  const Tensor qh = qp.reshape({L, N * H, hd}).transpose(0, 1);
  Tensor kh = kp.reshape({kp.size(0), N * H, hd}).transpose(0, 1);
  Tensor vh = vp.reshape({vp.size(0), N * H, hd}).transpose(0, 1);
  if (options_.add_zero_attn()) {
    kh = cat({kh, zeros({N * H, 1, hd}, dt)}, 1);
    vh = cat({vh, zeros({N * H, 1, hd}, dt)}, 1);
    if (am.defined())
      am = pad(am, {0, 1});
    if (km.defined())
      km = pad(km, {0, 1});
  }
  const int64_t S2 = kh.size(1);
  Tensor mask = am;
  if (km.defined()) {
    const Tensor kh_mask =
        km.reshape({N, 1, 1, S2}).expand({N, H, 1, S2}).reshape({N * H, 1, S2});
    mask = mask.defined() ? mask + kh_mask : kh_mask;
  }
  // PyTorch 1.13: a fully masked row is NaN here.
  Tensor w = attention_weights(qh, kh, mask, std::nullopt, false);
  const double p = options_.dropout();
  if (is_training() && p > 0)
    w = functional::dropout(w, p, /*training=*/true);
  const Tensor heads = matmul(w, vh);  // (N * H, L, hd)
  Tensor out = functional::linear(
                   heads.transpose(0, 1).reshape({L * N, E}),
                   out_proj_->weight(), out_proj_->bias())
                   .reshape({L, N, E});
  Tensor weights;
  if (need_weights) {
    weights = w.reshape({N, H, L, S2});
    if (average_attn_weights)
      weights = sum(weights, {1}) / static_cast<double>(H);
  }
  if (!batched) {
    out = out.squeeze(1);
    if (weights.defined())
      weights = weights.squeeze(0);
  } else if (options_.batch_first()) {
    out = out.transpose(0, 1);
  }
  return {out, weights};
}

std::string MultiheadAttentionImpl::extra_repr() const {
  std::ostringstream os;
  os << "embed_dim=" << options_.embed_dim()
     << ", num_heads=" << options_.num_heads()
     << ", dropout=" << options_.dropout()
     << ", bias=" << (options_.bias() ? "true" : "false");
  if (!same_dim_)
    os << ", kdim=" << options_.kdim() << ", vdim=" << options_.vdim();
  if (options_.add_bias_kv())
    os << ", add_bias_kv=true";
  if (options_.add_zero_attn())
    os << ", add_zero_attn=true";
  if (options_.batch_first())
    os << ", batch_first=true";
  return os.str();
}

}  // namespace voxgrad::nn
