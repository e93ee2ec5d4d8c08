// F::scaled_dot_product_attention and nn::MultiheadAttention beyond the
// PyTorch goldens (tests/nn/test_kit_golden.cpp, attention cases): a plain
// loop reference of the formula with every kind of mask, the fully masked
// row, float64 gradcheck and gradgradcheck of both, dropout, thread-count
// independence, parameter names and initialisation, the masks' opposite
// boolean conventions, and the errors.

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "test_util.hpp"
#include "voxgrad/nn/attention.hpp"

namespace voxgrad::nn {
namespace {

namespace F = functional;
using test::bit_equal;
using test::max_abs_diff;
using test::with_threads;

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor ints(std::vector<int64_t> v, const Shape& shape) {
  return from_blob(v.data(), shape);
}

/// softmax(q k^T * scale + bias) v by plain loops in double, for q (B, L, E),
/// k (B, S, E), v (B, S, Ev) and an additive bias (B, L, S) (or none).
Tensor reference_sdpa(
    const Tensor& q,
    const Tensor& k,
    const Tensor& v,
    const Tensor& bias,
    double scale) {
  const int64_t B = q.size(0), L = q.size(1), E = q.size(2);
  const int64_t S = k.size(1), Ev = v.size(2);
  const auto qv = q.to_vector<double>(), kv = k.to_vector<double>();
  const auto vv = v.to_vector<double>();
  const auto bv = bias.defined() ? bias.to_vector<double>()
                                 : std::vector<double>(B * L * S, 0.0);
  std::vector<double> out(static_cast<size_t>(B * L * Ev), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i) {
      std::vector<double> s(static_cast<size_t>(S));
      double mx = -kInf;
      for (int64_t j = 0; j < S; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < E; ++e)
          dot += qv[(b * L + i) * E + e] * kv[(b * S + j) * E + e];
        s[j] = dot * scale + bv[(b * L + i) * S + j];
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (int64_t j = 0; j < S; ++j)
        z += std::exp(s[j] - mx);
      for (int64_t j = 0; j < S; ++j) {
        const double p = std::exp(s[j] - mx) / z;
        for (int64_t e = 0; e < Ev; ++e)
          out[(b * L + i) * Ev + e] += p * vv[(b * S + j) * Ev + e];
      }
    }
  }
  return tensor(out, {B, L, Ev}, kFloat64);
}

}  // namespace

TEST_CASE("scaled_dot_product_attention matches the formula, every mask") {
  Generator g(11);
  const int64_t B = 3, L = 4, S = 6, E = 5, Ev = 3;
  const Tensor q = randn({B, L, E}, kFloat64, &g);
  const Tensor k = randn({B, S, E}, kFloat64, &g);
  const Tensor v = randn({B, S, Ev}, kFloat64, &g);
  const double scale = 1 / std::sqrt(5.0);
  // No mask; an explicit scale.
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v),
          reference_sdpa(q, k, v, {}, scale)) < 1e-13);
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v, {}, 0, false, 0.7),
          reference_sdpa(q, k, v, {}, 0.7)) < 1e-13);
  // A float mask (L, S) broadcast over the batch is added to the scores.
  const Tensor fm = randn({L, S}, kFloat64, &g);
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v, fm),
          reference_sdpa(q, k, v, fm.expand({B, L, S}), scale)) < 1e-13);
  // A boolean (int64) mask: true = takes part, false = -inf.
  std::vector<int64_t> keep(static_cast<size_t>(B * L * S));
  std::vector<double> bias(keep.size());
  for (size_t i = 0; i < keep.size(); ++i) {
    keep[i] = (i * 7 % 5) != 0 || i % S == 0;  // every row keeps one
    bias[i] = keep[i] ? 0.0 : -kInf;
  }
  const Tensor bm = ints(keep, {B, L, S});
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v, bm),
          reference_sdpa(q, k, v, tensor(bias, {B, L, S}, kFloat64), scale)) <
      1e-13);
  // Any non-zero int64 counts as true.
  std::vector<int64_t> keep5 = keep;
  for (int64_t& a : keep5)
    a *= 5;
  CHECK(bit_equal(
      F::scaled_dot_product_attention(q, k, v, ints(keep5, {B, L, S})),
      F::scaled_dot_product_attention(q, k, v, bm)));
  // Causal, L != S: top-left aligned lower triangle (query i sees 0..i).
  std::vector<double> causal(static_cast<size_t>(B * L * S));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < S; ++j)
        causal[(b * L + i) * S + j] = j <= i ? 0.0 : -kInf;
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v, {}, 0, true),
          reference_sdpa(q, k, v, tensor(causal, {B, L, S}, kFloat64), scale)) <
      1e-13);
  // Extra batch axes broadcast between q, k and v (matmul's rule).
  const Tensor q4 = randn({2, 1, L, E}, kFloat64, &g);
  const Tensor k4 = randn({1, 3, S, E}, kFloat64, &g);
  const Tensor v4 = randn({2, 3, S, Ev}, kFloat64, &g);
  const Tensor y4 = F::scaled_dot_product_attention(q4, k4, v4);
  CHECK(y4.shape() == Shape{2, 3, L, Ev});
  CHECK(
      max_abs_diff(
          y4.reshape({6, L, Ev}),
          reference_sdpa(
              q4.expand({2, 3, L, E}).reshape({6, L, E}),
              k4.expand({2, 3, S, E}).reshape({6, S, E}),
              v4.reshape({6, S, Ev}), {}, scale)) < 1e-13);
  // float32 follows float64.
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(
              q.to(kFloat32), k.to(kFloat32), v.to(kFloat32), bm)
              .to(kFloat64),
          F::scaled_dot_product_attention(q, k, v, bm)) < 1e-5);
}

TEST_CASE(
    "scaled_dot_product_attention: large scores stay finite, a fully "
    "masked row gives 0 and finite gradients as in PyTorch 2.5") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dt));
    // Scores of +-1e4 overflow exp() unless the maximum is subtracted.
    const Tensor q = full({1, 2, 2}, 100.0, dt).requires_grad_();
    const Tensor k =
        tensor({1, 1, 1, 1, -1, -1}, dt).reshape({1, 3, 2}).requires_grad_();
    const Tensor v = tensor({1, 2, 3}, dt).reshape({1, 3, 1}).requires_grad_();
    const Tensor y = F::scaled_dot_product_attention(q, k, v);
    for (double a : y.to_vector<double>())
      CHECK(a == doctest::Approx(1.5));
    // Row 0 keeps nothing: 0 (PyTorch >= 2.5's _safe_softmax), and its
    // gradients are 0, not NaN; row 1 is untouched.
    for (const Tensor& m :
         {ints({0, 0, 0, 1, 1, 0}, {1, 2, 3}),
          masked_fill(
              zeros({1, 2, 3}, dt), ints({1, 1, 1, 0, 0, 1}, {1, 2, 3}),
              -kInf)}) {
      const Tensor o = F::scaled_dot_product_attention(q, k, v, m);
      const auto ov = o.to_vector<double>();
      CHECK(ov[0] == 0);
      CHECK(ov[1] == doctest::Approx(1.5));
      o.sum().backward();
      for (const Tensor& t : {q, k, v}) {
        for (double a : t.grad().to_vector<double>())
          CHECK(std::isfinite(a));
        t.set_grad(Tensor());
      }
    }
  }
  // With a fully masked row, the composition still has exact derivatives.
  Generator g(18);
  const Tensor q = randn({2, 3, 4}, kFloat64, &g).requires_grad_();
  const Tensor k = randn({2, 4, 4}, kFloat64, &g).requires_grad_();
  const Tensor v = randn({2, 4, 2}, kFloat64, &g).requires_grad_();
  const Tensor m = ints({1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0}, {3, 4});
  const auto f = [&m](const TensorList& in) {
    return F::scaled_dot_product_attention(in[0], in[1], in[2], m);
  };
  CHECK(gradcheck(f, {q, k, v}));
  CHECK(gradgradcheck(f, {q, k, v}));
}

TEST_CASE(
    "scaled_dot_product_attention: float64 gradcheck and "
    "gradgradcheck, masks and causal") {
  Generator g(12);
  const Tensor q = randn({2, 3, 4}, kFloat64, &g).requires_grad_();
  const Tensor k = randn({2, 5, 4}, kFloat64, &g).requires_grad_();
  const Tensor v = randn({2, 5, 2}, kFloat64, &g).requires_grad_();
  const Tensor fm = randn({3, 5}, kFloat64, &g).requires_grad_();
  const Tensor bm = ints({1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1}, {3, 5});
  const auto plain = [](const TensorList& in) {
    return F::scaled_dot_product_attention(in[0], in[1], in[2]);
  };
  const auto with_float_mask = [](const TensorList& in) {
    return F::scaled_dot_product_attention(in[0], in[1], in[2], in[3]);
  };
  const auto with_bool_mask = [&bm](const TensorList& in) {
    return F::scaled_dot_product_attention(in[0], in[1], in[2], bm);
  };
  const auto causal = [](const TensorList& in) {
    return F::scaled_dot_product_attention(
        in[0], in[1], in[2], {}, 0, true, 0.3);
  };
  CHECK(gradcheck(plain, {q, k, v}));
  CHECK(gradgradcheck(plain, {q, k, v}));
  CHECK(gradcheck(with_float_mask, {q, k, v, fm}));
  CHECK(gradgradcheck(with_float_mask, {q, k, v, fm}));
  CHECK(gradcheck(with_bool_mask, {q, k, v}));
  CHECK(gradgradcheck(with_bool_mask, {q, k, v}));
  CHECK(gradcheck(causal, {q, k, v}));
  CHECK(gradgradcheck(causal, {q, k, v}));
}

TEST_CASE("scaled_dot_product_attention: dropout is seeded, p = 1 drops all") {
  Generator g(13);
  const Tensor q = randn({2, 4, 3}, kFloat32, &g);
  const Tensor k = randn({2, 4, 3}, kFloat32, &g);
  const Tensor v = randn({2, 4, 3}, kFloat32, &g);
  Generator a(5), b(5);
  const Tensor ya = F::scaled_dot_product_attention(
      q, k, v, {}, 0.5, false, std::nullopt, &a);
  const Tensor yb = F::scaled_dot_product_attention(
      q, k, v, {}, 0.5, false, std::nullopt, &b);
  CHECK(bit_equal(ya, yb));
  CHECK(max_abs_diff(ya, F::scaled_dot_product_attention(q, k, v)) > 1e-3);
  const Tensor y1 = F::scaled_dot_product_attention(
      q, k, v, {}, 1.0, false, std::nullopt, &a);
  CHECK(max_abs_diff(y1, zeros_like(y1)) == 0);
}

TEST_CASE("scaled_dot_product_attention refuses bad arguments") {
  const Tensor q = randn({2, 3, 4}), k = randn({2, 5, 4}), v = randn({2, 5, 6});
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(Tensor(), k, v),
      "scaled_dot_product_attention", "undefined");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q.to(kInt64), k, v), "query", "int64",
      "float32 or float64");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k.to(kFloat64), v), "one dtype",
      "float64");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(randn({4}), k, v), "at least 2 axes",
      "[4]");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, randn({2, 5, 3}), v), "key [2, 5, 3]",
      "E = 4");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, randn({2, 4, 6})),
      "value [2, 4, 6]", "S = 5");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(randn({3, 3, 4}), k, v),
      "scaled_dot_product_attention", "[3] and [2] cannot be broadcast");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, {}, -0.1), "dropout_p", "[0, 1]",
      "-0.1");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, {}, 1.5), "dropout_p", "1.5");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, {}, std::nan(""), false),
      "dropout_p");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, {}, 0, false, kInf), "scale",
      "finite", "inf");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(randn({2, 3, 0}), randn({2, 5, 0}), v),
      "E > 0", "pass a scale");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, ones({3, 5}), 0, true),
      "attn_mask", "is_causal", "[3, 5]");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, ones({3, 4})),
      "attn_mask [3, 4]", "[2, 3, 5]");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, ones({4, 3, 5})),
      "attn_mask [4, 3, 5]", "broadcast");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, ones({1, 2, 3, 5})),
      "attn_mask [1, 2, 3, 5]");
  CHECK_ERROR_CONTAINS(
      F::scaled_dot_product_attention(q, k, v, ones({3, 5}, kFloat64)),
      "attn_mask", "float64", "int64", "float32");
}

TEST_CASE(
    "attention is bit-identical for 1, 2 and 3 threads, incl. "
    "backward") {
  Generator g(14);
  MultiheadAttention mha(MultiheadAttentionOptions(16, 4));
  const Tensor x = randn({40, 3, 16}, kFloat32, &g);
  const Tensor kpm = ints(std::vector<int64_t>(120, 0), {3, 40});
  std::vector<Tensor> ref;
  for (int t : {1, 2, 3}) {
    CAPTURE(t);
    with_threads(t, [&] {
      const Tensor xi = x.clone().requires_grad_();
      mha->zero_grad();
      auto out = mha(xi, xi, xi, kpm);
      const Tensor y = std::get<0>(out);
      const Tensor w = std::get<1>(out);
      const Tensor sd = F::scaled_dot_product_attention(
          xi.transpose(0, 1), xi.transpose(0, 1), xi.transpose(0, 1), {}, 0,
          true);
      ((y * y).sum() + w.sum() + sd.sum()).backward();
      const std::vector<Tensor> got = {
          y,
          w,
          sd,
          xi.grad(),
          mha->in_proj_weight().grad(),
          mha->out_proj()->weight().grad()};
      if (ref.empty()) {
        ref = got;
      } else {
        for (size_t i = 0; i < got.size(); ++i) {
          CAPTURE(i);
          CHECK(bit_equal(got[i], ref[i]));
        }
      }
    });
  }
}

TEST_CASE(
    "MultiheadAttention: the parameter names, shapes and init of "
    "PyTorch") {
  MultiheadAttention a(MultiheadAttentionOptions(8, 2));
  std::vector<std::string> names;
  for (const auto& [n, t] : a->named_parameters())
    names.push_back(n + shape_str(t.shape()));
  CHECK(
      names == std::vector<std::string>{
                   "in_proj_weight[24, 8]", "in_proj_bias[24]",
                   "out_proj.weight[8, 8]", "out_proj.bias[8]"});
  CHECK(max_abs_diff(a->in_proj_bias(), zeros({24})) == 0);
  CHECK(max_abs_diff(a->out_proj()->bias(), zeros({8})) == 0);
  // xavier_uniform over (3E, E): bound sqrt(6 / (E + 3E)).
  const double bound = std::sqrt(6.0 / 32.0);
  double mx = 0;
  for (double w : a->in_proj_weight().to_vector<double>())
    mx = std::max(mx, std::abs(w));
  CHECK(mx <= bound);
  CHECK(mx > 0.8 * bound);

  MultiheadAttention b(
      MultiheadAttentionOptions(8, 4).kdim(3).vdim(5).bias(false).add_bias_kv(
          true));
  names.clear();
  for (const auto& [n, t] : b->named_parameters())
    names.push_back(n + shape_str(t.shape()));
  CHECK(
      names == std::vector<std::string>{
                   "q_proj_weight[8, 8]", "k_proj_weight[8, 3]",
                   "v_proj_weight[8, 5]", "bias_k[1, 1, 8]", "bias_v[1, 1, 8]",
                   "out_proj.weight[8, 8]"});
  CHECK_FALSE(b->qkv_same_embed_dim());
  CHECK_FALSE(b->in_proj_weight().defined());
  std::ostringstream os;
  os << *b.ptr();
  CHECK(
      os.str().find("MultiheadAttention(embed_dim=8, num_heads=4") !=
      std::string::npos);
  CHECK(os.str().find("kdim=3, vdim=5, add_bias_kv=true") != std::string::npos);
}

TEST_CASE(
    "MultiheadAttention: boolean masks mean masked out, the "
    "opposite of the scaled_dot_product_attention mask") {
  Generator g(15);
  MultiheadAttention mha(MultiheadAttentionOptions(6, 2));
  mha->to(kFloat64);
  const Tensor q = randn({3, 2, 6}, kFloat64, &g);
  const Tensor kv = randn({4, 2, 6}, kFloat64, &g);
  const Tensor am = ints({0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1}, {3, 4});
  const Tensor kpm = ints({0, 0, 1, 0, 1, 0, 0, 0}, {2, 4});
  const Tensor am_f = masked_fill(zeros({3, 4}, kFloat64), am, -kInf);
  const Tensor kpm_f = masked_fill(zeros({2, 4}, kFloat64), kpm, -kInf);
  auto b = mha(q, kv, kv, kpm, true, am);
  auto f = mha(q, kv, kv, kpm_f, true, am_f);
  CHECK(max_abs_diff(std::get<0>(b), std::get<0>(f)) == 0);
  CHECK(max_abs_diff(std::get<1>(b), std::get<1>(f)) == 0);
  // Weights per head are 0 exactly where either mask says "masked out".
  auto per_head = mha(q, kv, kv, kpm, true, am, false);
  const Tensor w = std::get<1>(per_head);
  REQUIRE(w.shape() == Shape{2, 2, 3, 4});
  const auto wv = w.to_vector<double>();
  const auto amv = am.to_vector<int64_t>(), kpv = kpm.to_vector<int64_t>();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          const bool masked = amv[i * 4 + j] || kpv[n * 4 + j];
          const double x = wv[((n * 2 + h) * 3 + i) * 4 + j];
          CHECK((masked ? x == 0 : x > 0));
        }
  // The same attention through SDPA takes the inverted mask.
  const Tensor d = kv.transpose(0, 1);  // (N, S, E)
  const Tensor wq = mha->in_proj_weight().slice(0, 0, 6);
  const Tensor wk = mha->in_proj_weight().slice(0, 6, 12);
  const Tensor wv_ = mha->in_proj_weight().slice(0, 12, 18);
  const Tensor bq = mha->in_proj_bias().slice(0, 0, 6);
  const Tensor bk = mha->in_proj_bias().slice(0, 6, 12);
  const Tensor bv = mha->in_proj_bias().slice(0, 12, 18);
  const auto heads = [](const Tensor& t) {  // (N, L, 6) -> (N, 2, L, 3)
    return t.reshape({t.size(0), t.size(1), 2, 3}).transpose(1, 2);
  };
  const Tensor qh = heads(F::linear(q.transpose(0, 1), wq, bq));
  const Tensor kh = heads(F::linear(d, wk, bk));
  const Tensor vh = heads(F::linear(d, wv_, bv));
  const Tensor keep = (eq(am, 0.0).to(kFloat64).reshape({1, 1, 3, 4}) *
                       eq(kpm, 0.0).to(kFloat64).reshape({2, 1, 1, 4}))
                          .to(kInt64);
  const Tensor o = F::scaled_dot_product_attention(qh, kh, vh, keep);
  const Tensor y = F::linear(
      o.transpose(1, 2).reshape({2, 3, 6}), mha->out_proj()->weight(),
      mha->out_proj()->bias());
  CHECK(max_abs_diff(y.transpose(0, 1), std::get<0>(b)) < 1e-13);
}

TEST_CASE("MultiheadAttention: float64 gradcheck and gradgradcheck") {
  Generator g(16);
  for (int variant = 0; variant < 3; ++variant) {
    CAPTURE(variant);
    auto o = MultiheadAttentionOptions(4, 2);
    if (variant == 1)
      o.add_bias_kv(true).add_zero_attn(true).batch_first(true);
    if (variant == 2)
      o.kdim(3).vdim(2).bias(false);
    MultiheadAttention mha(o);
    mha->to(kFloat64);
    const Shape qs = o.batch_first() ? Shape{2, 3, 4} : Shape{3, 2, 4};
    const Tensor q = randn(qs, kFloat64, &g).requires_grad_();
    const Tensor k = randn({2, 2, o.kdim()}, kFloat64, &g).requires_grad_();
    const Tensor v = randn({2, 2, o.vdim()}, kFloat64, &g).requires_grad_();
    const Tensor kpm = ints({0, 0, 0, 1}, {2, 2});
    const auto fn = [&](const TensorList& in) {
      auto out = mha(in[0], in[1], in[2], kpm);
      return cat(
          {std::get<0>(out).reshape({-1}), std::get<1>(out).reshape({-1})});
    };
    TensorList inputs = {q, k, v};
    for (const Tensor& p : mha->parameters())
      inputs.push_back(p);
    // The parameters take part through the module (gradcheck perturbs them
    // in place).
    CHECK(gradcheck(fn, inputs));
    CHECK(gradgradcheck(fn, {q, k, v}));
  }
}

TEST_CASE(
    "MultiheadAttention: unbatched inputs and batch_first agree with "
    "the batched (L, N, E) layout") {
  Generator g(17);
  MultiheadAttention a(MultiheadAttentionOptions(8, 2));
  MultiheadAttention bf(MultiheadAttentionOptions(8, 2).batch_first(true));
  bf->load_state_dict(a->state_dict());
  const Tensor q = randn({5, 3, 8}, kFloat32, &g);
  const Tensor kv = randn({4, 3, 8}, kFloat32, &g);
  auto ref = a(q, kv, kv);
  auto got = bf(q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1));
  CHECK(bit_equal(std::get<0>(got).transpose(0, 1), std::get<0>(ref)));
  CHECK(bit_equal(std::get<1>(got), std::get<1>(ref)));
  for (int64_t n = 0; n < 3; ++n) {
    auto un = a(q.select(1, n), kv.select(1, n), kv.select(1, n));
    CHECK(max_abs_diff(std::get<0>(un), std::get<0>(ref).select(1, n)) < 1e-6);
    CHECK(max_abs_diff(std::get<1>(un), std::get<1>(ref).select(0, n)) < 1e-6);
  }
  auto no_w = a(q, kv, kv, Tensor(), false);
  CHECK_FALSE(std::get<1>(no_w).defined());
  // Self-attention (one tensor) takes the packed single-GEMM path.
  auto self = a(q, q, q);
  auto self2 = a(q, q.clone(), q.clone());
  CHECK(max_abs_diff(std::get<0>(self), std::get<0>(self2)) < 1e-6);
}

TEST_CASE("MultiheadAttention refuses bad options and inputs") {
  using O = MultiheadAttentionOptions;
  CHECK_ERROR_CONTAINS(MultiheadAttention(O(0, 1)), "embed_dim", "> 0", "0");
  CHECK_ERROR_CONTAINS(MultiheadAttention(O(8, 0)), "num_heads", "> 0");
  CHECK_ERROR_CONTAINS(
      MultiheadAttention(O(8, 3)), "embed_dim 8", "divisible by num_heads 3");
  CHECK_ERROR_CONTAINS(
      MultiheadAttention(O(8, 2).kdim(0)), "kdim and vdim", "> 0");
  CHECK_ERROR_CONTAINS(
      MultiheadAttention(O(8, 2).dropout(1.5)), "dropout", "[0, 1]", "1.5");
  MultiheadAttention m(O(8, 2));
  const Tensor x = randn({5, 3, 8});
  CHECK_ERROR_CONTAINS(m(Tensor(), x, x), "MultiheadAttention", "undefined");
  CHECK_ERROR_CONTAINS(
      m(x.to(kFloat64), x, x), "float64", "parameters are float32");
  CHECK_ERROR_CONTAINS(
      m(randn({2, 5, 3, 8}), x, x), "(L, N, E)", "[2, 5, 3, 8]");
  CHECK_ERROR_CONTAINS(m(x, randn({5, 8}), x), "key and value", "3-d");
  CHECK_ERROR_CONTAINS(m(randn({5, 3, 7}), x, x), "embed_dim = 8");
  CHECK_ERROR_CONTAINS(
      m(x, randn({5, 3, 6}), randn({5, 3, 6})), "kdim = 8", "vdim = 8");
  CHECK_ERROR_CONTAINS(
      m(x, randn({4, 2, 8}), randn({4, 2, 8})), "batch size 3");
  CHECK_ERROR_CONTAINS(
      m(x, randn({4, 3, 8}), randn({6, 3, 8})), "one sequence length");
  CHECK_ERROR_CONTAINS(
      m(x, x, x, ones({3, 4})), "key_padding_mask", "[3, 5]", "[3, 4]");
  CHECK_ERROR_CONTAINS(
      m(x, x, x, ones({3, 5}, kFloat64)), "key_padding_mask", "float64",
      "int64");
  CHECK_ERROR_CONTAINS(
      m(x, x, x, Tensor(), true, ones({5, 4})), "attn_mask", "[5, 5]",
      "[6, 5, 5]", "[5, 4]");
  CHECK_ERROR_CONTAINS(
      m(x, x, x, Tensor(), true, ones({2, 5, 5})), "attn_mask", "[2, 5, 5]");
  CHECK_ERROR_CONTAINS(
      m(randn({5, 8}), randn({5, 8}), randn({5, 8}), ones({3, 5})),
      "key_padding_mask must be [5]");
}

TEST_CASE(
    "a PyTorch MultiheadAttention state_dict converted by "
    "torch_to_voxgrad.py loads and matches PyTorch") {
  using json = nlohmann::json;
  const std::string dir = VOXGRAD_TEST_DATA_DIR "/golden/";
  std::ifstream f(dir + "interop_mha_io.json");
  REQUIRE(f.good());
  const json io = json::parse(f);
  const auto t = [](const json& j, Dtype dt) {
    return tensor(
        j.at("data").get<std::vector<double>>(), j.at("shape").get<Shape>(),
        dt);
  };
  MultiheadAttention m(
      MultiheadAttentionOptions(8, 2).kdim(3).vdim(5).add_bias_kv(true));
  load(dir + "interop_mha.ckpt.json", *m);  // strict: PyTorch's names
  m->to(kFloat64);
  const json& in = io.at("inputs");
  auto out =
      m(t(in[0], kFloat64), t(in[1], kFloat64), t(in[2], kFloat64),
        t(io.at("key_padding_mask"), kInt64));
  CHECK(max_abs_diff(std::get<0>(out), t(io.at("output"), kFloat64)) < 1e-12);
  CHECK(max_abs_diff(std::get<1>(out), t(io.at("weights"), kFloat64)) < 1e-12);
}

}  // namespace voxgrad::nn
