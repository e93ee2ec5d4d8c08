// nn::utils::spectral_norm / weight_norm and their removal (PyTorch 1.13's
// semantics; the values against PyTorch are in
// test_weight_reparam_golden.cpp): state and names, power iteration only in
// training, gradients through sigma with u and v constant, gradcheck and
// gradgradcheck, every supported layer, removal, errors, checkpoints and
// resuming, thread counts.

#include <tbb/task_arena.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

using test::allclose;
using test::bit_equal;
using Names = std::vector<std::string>;

Names names(const NamedTensors& list) {
  Names out;
  for (const auto& kv : list)
    out.push_back(kv.first);
  return out;
}

Tensor get(const NamedTensors& list, const std::string& name) {
  for (const auto& [n, t] : list)
    if (n == name)
      return t;
  FAIL("no tensor '" << name << "'");
  return {};
}

Tensor param(const Module& m, const std::string& name) {
  return get(m.named_parameters(), name);
}
Tensor buffer(const Module& m, const std::string& name) {
  return get(m.named_buffers(), name);
}

double norm(const Tensor& t) {
  return std::sqrt((t * t).sum().item());
}

Tensor normalize(const Tensor& x) {
  return x / norm(x);
}

/// u (h) and v (w) as the column and row of an outer product (h, w).
Tensor outer(const Tensor& u, const Tensor& v) {
  return u.unsqueeze(1) * v.unsqueeze(0);
}

/// A module whose "weight" is bound to its member and which already has a
/// buffer named "weight_u": spectral_norm's names collide.
struct CollideImpl : Module {
  CollideImpl() {
    register_parameter("weight", weight_, randn({2, 3}));
    register_buffer("weight_u", zeros({2}));
  }
  Tensor forward(const Tensor& x) {
    return matmul(x, weight_.transpose(0, 1));
  }
  Tensor weight_;
};
VOXGRAD_MODULE(Collide);

/// SnNet of tools/gen_interop_golden.py: spectral_norm on a grouped Conv3d
/// and a Linear, weight_norm on a grouped ConvTranspose3d.
struct SnNetImpl : Module {
  SnNetImpl() {
    enc = register_module(
        "enc", utils::spectral_norm(
                   Conv3d(Conv3dOptions(2, 4, 3).padding(1).groups(2))));
    up = register_module(
        "up", utils::weight_norm(ConvTranspose3d(
                  ConvTranspose3dOptions(4, 6, 2).stride(2).groups(2))));
    head = register_module("head", utils::spectral_norm(Linear(6, 2)));
  }
  Tensor forward(const Tensor& x) {
    return head(tanh(up(tanh(enc(x)))).mean({2, 3, 4}));
  }
  Conv3d enc = nullptr;
  ConvTranspose3d up = nullptr;
  Linear head = nullptr;
};
VOXGRAD_MODULE(SnNet);

Tensor from_json(const nlohmann::json& t, Dtype dt) {
  return tensor(
      t["data"].get<std::vector<double>>(), t["shape"].get<Shape>(), dt);
}

}  // namespace

TEST_CASE("spectral_norm: PyTorch's state, the former weight as weight_orig") {
  Linear fc(5, 4);
  const Tensor w = fc->weight();
  const Linear same = utils::spectral_norm(fc);  // the handle, for chaining
  CHECK(same.get() == fc.get());
  CHECK(names(fc->named_parameters()) == Names{"bias", "weight_orig"});
  CHECK(names(fc->named_buffers()) == Names{"weight_u", "weight_v"});
  CHECK(
      names(fc->state_dict()) ==
      Names{"bias", "weight_orig", "weight_u", "weight_v"});
  // The parameter itself (an optimizer holding it keeps training it).
  CHECK(param(*fc, "weight_orig").impl() == w.impl());
  CHECK(buffer(*fc, "weight_u").shape() == Shape{4});
  CHECK(buffer(*fc, "weight_v").shape() == Shape{5});
  CHECK(norm(buffer(*fc, "weight_u")) == doctest::Approx(1.0));
  CHECK(norm(buffer(*fc, "weight_v")) == doctest::Approx(1.0));
  CHECK_FALSE(buffer(*fc, "weight_u").requires_grad());
  // Until the first call, forward's weight is the raw weight (PyTorch:
  // setattr(module, name, weight.data)).
  CHECK(bit_equal(fc->weight(), w));
  CHECK(fc->reparametrization("weight") != nullptr);
  CHECK(fc->num_parameters() == 5 * 4 + 4);
}

TEST_CASE("spectral_norm: power iteration in training only, weight / sigma") {
  manual_seed(3);
  Linear fc(5, 4);
  fc->to(kFloat64);
  utils::spectral_norm(fc);
  const Tensor w = param(*fc, "weight_orig");
  const Tensor u = buffer(*fc, "weight_u"), v = buffer(*fc, "weight_v");
  const Tensor u0 = u.clone(), x = randn({3, 5}, kFloat64);
  const Tensor y = fc(x);
  // One step of v = normalize(W^T u), u = normalize(W v), in place.
  const Tensor v1 = normalize(matmul(w.detach().transpose(0, 1), u0));
  const Tensor u1 = normalize(matmul(w.detach(), v1));
  CHECK(allclose(v, v1, 1e-14, 1e-12));
  CHECK(allclose(u, u1, 1e-14, 1e-12));
  const double sigma = matmul(u1, matmul(w.detach(), v1)).item();
  CHECK(allclose(fc->weight(), w.detach() / sigma, 1e-14, 1e-12));
  CHECK(allclose(
      y, functional::linear(x, w.detach() / sigma, fc->bias()), 1e-13, 1e-12));
  // Repeated training calls converge to the top singular pair:
  // W v = sigma u and W^T u = sigma v.
  for (int i = 0; i < 200; ++i)
    fc(x);
  const Tensor wd = w.detach();
  const double s = matmul(u, matmul(wd, v)).item();
  CHECK(allclose(matmul(wd, v), u * s, 1e-9, 1e-9));
  CHECK(allclose(matmul(wd.transpose(0, 1), u), v * s, 1e-9, 1e-9));
  // Eval calls leave u and v alone, and read the same weight.
  fc->eval();
  const Tensor u_before = u.clone(), v_before = v.clone();
  const uint64_t version = u.version();
  fc(x);
  fc(x);
  CHECK(bit_equal(u, u_before));
  CHECK(bit_equal(v, v_before));
  CHECK(u.version() == version);
  CHECK(allclose(fc->weight(), wd / s, 1e-14, 1e-12));
}

TEST_CASE("spectral_norm: the gradient treats u and v as constants") {
  // dL/dW_orig = G / sigma - <G, W_orig> / sigma^2 * u v^T, G = dL/dweight,
  // in training mode too (PyTorch's semantics: u, v updated, then fixed).
  manual_seed(4);
  Linear fc(6, 3);
  fc->to(kFloat64);
  utils::spectral_norm(fc, "weight", 2);
  const Tensor w = param(*fc, "weight_orig");
  const Tensor x = randn({4, 6}, kFloat64), gy = randn({4, 3}, kFloat64);
  for (bool training : {true, false}) {
    CAPTURE(training);
    fc->train(training);
    fc->zero_grad();
    const Tensor y = fc(x);
    const Tensor u = buffer(*fc, "weight_u"), v = buffer(*fc, "weight_v");
    const double sigma = matmul(u, matmul(w.detach(), v)).item();
    (y * gy).sum().backward();
    const Tensor g = matmul(gy.transpose(0, 1), x);  // dL/dweight
    const double gw = (g * w.detach()).sum().item();
    const Tensor want = g / sigma - outer(u, v) * (gw / (sigma * sigma));
    CHECK(allclose(w.grad(), want, 1e-12, 1e-10));
  }
}

TEST_CASE("spectral_norm: gradcheck and gradgradcheck in float64 (eval)") {
  manual_seed(5);
  Linear fc(4, 3);
  fc->to(kFloat64);
  utils::spectral_norm(fc);
  const Tensor x = randn({2, 4}, kFloat64);
  for (int i = 0; i < 5; ++i)
    fc(x);  // u, v near the singular pair; eval then fixes them
  fc->eval();
  const Tensor w = param(*fc, "weight_orig");
  const Tensor xr = x.detach().requires_grad_();
  const auto f = [&](const TensorList& in) { return fc(in[1]); };
  CHECK(gradcheck(f, {w, xr}));
  CHECK(gradgradcheck(f, {w, xr}));

  Conv3d conv(Conv3dOptions(2, 3, 2).stride(2));
  conv->to(kFloat64);
  utils::spectral_norm(conv);
  const Tensor v = randn({1, 2, 3, 2, 3}, kFloat64).requires_grad_();
  conv(v);
  conv->eval();
  const auto g = [&](const TensorList& in) { return conv(in[1]); };
  CHECK(gradcheck(g, {param(*conv, "weight_orig"), v}));
  CHECK(gradgradcheck(g, {param(*conv, "weight_orig"), v}));
}

TEST_CASE("weight_norm: weight_g and weight_v, the weight unchanged at first") {
  Linear fc(5, 4);
  const Tensor w = fc->weight().clone();
  const Tensor v_param = fc->weight();
  utils::weight_norm(fc);
  CHECK(names(fc->named_parameters()) == Names{"bias", "weight_g", "weight_v"});
  CHECK(fc->named_buffers().empty());
  CHECK(param(*fc, "weight_v").impl() == v_param.impl());
  CHECK(param(*fc, "weight_g").shape() == Shape{4, 1});
  CHECK(param(*fc, "weight_g").is_leaf());
  CHECK(param(*fc, "weight_g").requires_grad());
  CHECK(allclose(fc->weight(), w, 1e-6, 1e-6));
  const Tensor x = randn({3, 5});
  CHECK(allclose(fc(x), functional::linear(x, w, fc->bias()), 1e-5, 1e-5));

  struct Case {
    std::optional<int64_t> dim;
    Shape g;
  };
  for (const Case& c :
       {Case{std::nullopt, {}}, Case{-1, {}}, Case{1, {1, 5}},
        Case{-2, {4, 1}}}) {
    CAPTURE(c.dim.value_or(99));
    Linear l(5, 4);
    utils::weight_norm(l, "weight", c.dim);
    CHECK(param(*l, "weight_g").shape() == c.g);
  }
  Conv3d conv(Conv3dOptions(2, 3, 3));
  utils::weight_norm(conv);
  CHECK(param(*conv, "weight_g").shape() == Shape{3, 1, 1, 1, 1});
  // A grouped conv: weight_v keeps the 6-D SPEC view, weight_g PyTorch's
  // shape for the merged (A, B, k...) weight.
  ConvTranspose3d up(ConvTranspose3dOptions(4, 2, 2).groups(2));
  const Tensor before = up->weight().clone();
  utils::weight_norm(up);
  CHECK(param(*up, "weight_v").shape() == Shape{2, 2, 1, 2, 2, 2});
  CHECK(param(*up, "weight_g").shape() == Shape{4, 1, 1, 1, 1});
  CHECK(allclose(up->weight(), before, 1e-6, 1e-6));
  // Recomputed before every call, in eval mode too.
  up->eval();
  {
    NoGradGuard no_grad;
    param(*up, "weight_g").fill_(2.0);
  }
  up(randn({1, 4, 2, 2, 2}));
  const Tensor vt = param(*up, "weight_v").detach().flatten(0, 1);
  const Tensor norms = sqrt((vt * vt).sum({1, 2, 3, 4}, true));
  CHECK(allclose(
      up->weight(), (vt * (2.0 / norms)).reshape(before.shape()), 1e-6, 1e-6));
}

TEST_CASE("weight_norm: gradcheck and gradgradcheck in float64") {
  for (std::optional<int64_t> dim :
       {std::optional<int64_t>(0), std::optional<int64_t>(1),
        std::optional<int64_t>()}) {
    CAPTURE(dim.value_or(99));
    Linear fc(3, 4);
    fc->to(kFloat64);
    utils::weight_norm(fc, "weight", dim);
    const Tensor x = randn({2, 3}, kFloat64).requires_grad_();
    const auto f = [&](const TensorList& in) { return fc(in[2]); };
    const TensorList in{param(*fc, "weight_g"), param(*fc, "weight_v"), x};
    CHECK(gradcheck(f, in));
    CHECK(gradgradcheck(f, in));
  }
}

TEST_CASE("spectral_norm and weight_norm: Conv3d, ConvTranspose3d, Embedding") {
  Conv3d conv(Conv3dOptions(2, 3, 3));
  utils::spectral_norm(conv);
  CHECK(buffer(*conv, "weight_u").shape() == Shape{3});
  CHECK(buffer(*conv, "weight_v").shape() == Shape{2 * 27});
  // ConvTranspose3d's weight is (in, out, k...): dim 1 by default.
  ConvTranspose3d up(ConvTranspose3dOptions(2, 3, 2));
  utils::spectral_norm(up);
  CHECK(buffer(*up, "weight_u").shape() == Shape{3});
  CHECK(buffer(*up, "weight_v").shape() == Shape{2 * 8});
  ConvTranspose3d up0(ConvTranspose3dOptions(2, 3, 2));
  utils::spectral_norm(up0, "weight", 1, 1e-12, 0);
  CHECK(buffer(*up0, "weight_u").shape() == Shape{2});
  // Grouped: PyTorch's (6, 2, 1, 1, 1) weight, here (2, 3, 2, 1, 1, 1).
  Conv3d grouped(Conv3dOptions(4, 6, 1).groups(2));
  utils::spectral_norm(grouped);
  CHECK(buffer(*grouped, "weight_u").shape() == Shape{6});
  CHECK(buffer(*grouped, "weight_v").shape() == Shape{2});
  const Tensor y = grouped(randn({1, 4, 2, 2, 2}));
  CHECK(y.shape() == Shape{1, 6, 2, 2, 2});
  CHECK(grouped->weight().shape() == Shape{2, 3, 2, 1, 1, 1});

  // Embedding: the looked-up rows are those of weight_orig / sigma.
  Embedding embed(EmbeddingOptions(6, 4));
  embed->to(kFloat64);
  utils::spectral_norm(embed);
  const std::vector<int64_t> idx{0, 5, 2, 5};
  const Tensor rows = embed(from_blob(idx.data(), {4}));
  const Tensor w = param(*embed, "weight_orig").detach();
  const double sigma =
      matmul(buffer(*embed, "weight_u"), matmul(w, buffer(*embed, "weight_v")))
          .item();
  CHECK(allclose(
      rows, (w / sigma).index_select(0, from_blob(idx.data(), {4})), 1e-14,
      1e-12));
  rows.sum().backward();
  CHECK(param(*embed, "weight_orig").grad().defined());

  // Bias is bound too.
  Linear fc(3, 2);
  utils::weight_norm(fc, "bias");
  CHECK(names(fc->named_parameters()) == Names{"weight", "bias_g", "bias_v"});
  CHECK(param(*fc, "bias_g").shape() == Shape{2});
}

TEST_CASE("spectral_norm and weight_norm: removal leaves a plain parameter") {
  manual_seed(6);
  Linear fc(4, 3);
  const Tensor orig = fc->weight();
  utils::spectral_norm(fc);
  const Tensor x = randn({2, 4});
  fc(x);
  fc(x);
  fc->eval();
  const Tensor y = fc(x);
  const Tensor w = fc->weight().detach().clone();
  const Linear same = utils::remove_spectral_norm(fc);
  CHECK(same.get() == fc.get());
  CHECK(names(fc->named_parameters()) == Names{"bias", "weight"});
  CHECK(fc->named_buffers().empty());
  CHECK_FALSE(fc->has_forward_hooks());
  CHECK(fc->reparametrization("weight") == nullptr);
  CHECK(bit_equal(fc->weight(), w));
  CHECK(fc->weight().is_leaf());
  CHECK(fc->weight().requires_grad());
  CHECK(fc->weight().impl() != orig.impl());  // a new tensor, as in PyTorch
  CHECK(bit_equal(fc(x), y));
  CHECK(param(*fc, "weight").impl() == fc->weight().impl());
  // Again, and the other one: they compose in sequence.
  utils::weight_norm(fc);
  const Tensor w2 = fc->weight().detach().clone();
  utils::remove_weight_norm(fc);
  CHECK(names(fc->named_parameters()) == Names{"bias", "weight"});
  CHECK(allclose(fc->weight(), w2, 0, 0));
  utils::spectral_norm(fc);
  CHECK(names(fc->named_parameters()) == Names{"bias", "weight_orig"});
  // A frozen weight stays frozen.
  Linear frozen(2, 2);
  frozen->weight().requires_grad_(false);
  utils::weight_norm(frozen);
  CHECK_FALSE(param(*frozen, "weight_g").requires_grad());
  utils::remove_weight_norm(frozen);
  CHECK_FALSE(frozen->weight().requires_grad());
}

TEST_CASE(
    "spectral_norm and weight_norm: errors name the value, change nothing") {
  Linear fc(5, 4);
  const Names before = names(fc->state_dict());
  CHECK_ERROR_CONTAINS(
      utils::spectral_norm(fc, "wieght"),
      "spectral_norm: Linear has no parameter 'wieght'",
      "(its parameters: 'weight', 'bias')");
  CHECK_ERROR_CONTAINS(
      utils::weight_norm(fc, "running_mean"),
      "weight_norm: Linear has no parameter 'running_mean'");
  for (int64_t n : {0, -3}) {
    const std::string want =
        "spectral_norm: n_power_iterations must be >= 1 (got " +
        std::to_string(n) + ")";
    CHECK_ERROR_CONTAINS(utils::spectral_norm(fc, "weight", n), want.c_str());
  }
  for (double eps :
       {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    CHECK_ERROR_CONTAINS(
        utils::spectral_norm(fc, "weight", 1, eps),
        "spectral_norm: eps must be finite and > 0 (got");
  }
  CHECK_ERROR_CONTAINS(
      utils::spectral_norm(fc, "weight", 1, 1e-12, 2),
      "spectral_norm: dim 2 is out of range for Linear's parameter 'weight' "
      "of shape [4, 5]; expected [-2, 2)");
  CHECK_ERROR_CONTAINS(
      utils::spectral_norm(fc, "weight", 1, 1e-12, -3),
      "dim -3 is out of range");
  CHECK_ERROR_CONTAINS(
      utils::weight_norm(fc, "weight", 2),
      "weight_norm: dim 2 is out of range");
  CHECK_ERROR_CONTAINS(
      utils::remove_spectral_norm(fc),
      "remove_spectral_norm: spectral_norm of 'weight' not found in Linear");
  CHECK_ERROR_CONTAINS(
      utils::remove_weight_norm(fc),
      "remove_weight_norm: weight_norm of 'weight' not found in Linear");
  CHECK(names(fc->state_dict()) == before);
  CHECK_FALSE(fc->has_forward_hooks());

  utils::spectral_norm(fc);
  CHECK_ERROR_CONTAINS(
      utils::spectral_norm(fc),
      "spectral_norm: Linear's parameter 'weight' is already reparametrised "
      "by spectral_norm; call remove_spectral_norm first");
  CHECK_ERROR_CONTAINS(
      utils::weight_norm(fc),
      "weight_norm: Linear's parameter 'weight' is already reparametrised by "
      "spectral_norm");
  CHECK_ERROR_CONTAINS(
      utils::remove_weight_norm(fc),
      "remove_weight_norm: weight_norm of 'weight' not found in Linear (it is "
      "reparametrised by spectral_norm)");
  CHECK_ERROR_CONTAINS(
      utils::spectral_norm(fc, "weight_orig"),
      "'weight_orig' is not registered with the member its forward reads");

  // A parameter forward does not read through a bound member.
  LayerNorm ln(LayerNormOptions({4}));
  CHECK_ERROR_CONTAINS(
      utils::weight_norm(ln), "weight_norm: LayerNorm's parameter 'weight'",
      "is not registered with the member its forward reads");
  CHECK(names(ln->named_parameters()) == Names{"weight", "bias"});

  // A name taken already: nothing is changed.
  Collide collide;
  CHECK_ERROR_CONTAINS(
      utils::spectral_norm(collide),
      "name 'weight_u' is already registered in this module");
  CHECK(names(collide->named_parameters()) == Names{"weight"});
  CHECK(names(collide->named_buffers()) == Names{"weight_u"});
  CHECK_FALSE(collide->has_forward_hooks());
  CHECK(collide->reparametrization("weight") == nullptr);
  utils::weight_norm(collide);  // its names are free
  CHECK(names(collide->named_parameters()) == Names{"weight_g", "weight_v"});
}

TEST_CASE("spectral_norm: checkpoints round-trip and resume bit-identically") {
  test::TempDir dir("reparam");
  auto make = [] {
    return Sequential(
        utils::spectral_norm(Linear(4, 8)), Tanh(),
        utils::weight_norm(Linear(8, 8)), Tanh(),
        utils::spectral_norm(Linear(8, 1), "weight", 2));
  };
  manual_seed(7);
  const Tensor x = randn({16, 4}), target = randn({16, 1});
  auto train = [&](Sequential& model, optim::Adam& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      const Tensor d = model(x) - target;
      (d * d).mean().backward();
      opt.step();
    }
  };
  Sequential a = make();
  optim::Adam opt_a(a->parameters(), optim::AdamOptions(1e-2));
  train(a, opt_a, 3);
  voxgrad::save(dir / "ckpt.json", *a, &opt_a);
  train(a, opt_a, 4);

  Sequential b = make();  // other random values
  optim::Adam opt_b(b->parameters(), optim::AdamOptions(1e-2));
  voxgrad::load(dir / "ckpt.json", *b, &opt_b);
  train(b, opt_b, 4);
  const NamedTensors sa = a->state_dict(), sb = b->state_dict();
  REQUIRE(names(sa) == names(sb));
  CHECK(
      names(sa) == Names{
                       "0.bias", "0.weight_orig", "2.bias", "2.weight_g",
                       "2.weight_v", "4.bias", "4.weight_orig", "0.weight_u",
                       "0.weight_v", "4.weight_u", "4.weight_v"});
  for (size_t i = 0; i < sa.size(); ++i) {
    CAPTURE(sa[i].first);
    CHECK(bit_equal(sa[i].second, sb[i].second));
  }
  CHECK(bit_equal(a(x), b(x)));
  // A model without the reparametrisation does not take the checkpoint.
  Sequential plain(Linear(4, 8), Tanh(), Linear(8, 8), Tanh(), Linear(8, 1));
  CHECK_ERROR_CONTAINS(voxgrad::load(dir / "ckpt.json", *plain), "weight_orig");
}

TEST_CASE("spectral_norm: bit-identical for 1, 2 and 3 threads") {
  manual_seed(8);
  Conv3d ref(Conv3dOptions(3, 8, 3).padding(1));
  utils::spectral_norm(ref);
  const NamedTensors state = ref->state_dict();
  const Tensor x = randn({2, 3, 6, 7, 5}), gy = randn({2, 8, 6, 7, 5});
  auto run = [&](int threads) {
    // set_num_threads raises voxgrad's limit to t, the arena gives t slots
    // even on a 2-core machine (as the conv kernels' determinism test).
    tbb::task_arena arena(threads);
    return test::with_threads(threads, [&] {
      return arena.execute([&] {
        Conv3d conv(Conv3dOptions(3, 8, 3).padding(1));
        utils::spectral_norm(conv);
        conv->load_state_dict(state);
        TensorList out;
        for (int step = 0; step < 2; ++step) {
          conv->zero_grad();
          const Tensor y = conv(x);
          (y * gy).sum().backward();
          out.push_back(y);
          out.push_back(param(*conv, "weight_orig").grad());
          out.push_back(buffer(*conv, "weight_u").clone());
          out.push_back(buffer(*conv, "weight_v").clone());
        }
        return out;
      });
    });
  };
  const TensorList one = run(1);
  for (int threads : {2, 3}) {
    const TensorList many = run(threads);
    for (size_t k = 0; k < one.size(); ++k) {
      CAPTURE(threads);
      CAPTURE(k);
      CHECK(bit_equal(one[k], many[k]));
    }
  }
}

TEST_CASE("spectral_norm: a PyTorch model converted by torch_to_voxgrad.py") {
  // tools/gen_interop_golden.py: SnNet trained 3 steps in PyTorch (u, v
  // power-iterated), its bare state_dict converted (grouped weights 6-D,
  // weight_u / weight_v found to be buffers), the eval output recorded.
  const std::string dir = VOXGRAD_TEST_DATA_DIR "/golden/";
  std::ifstream f(dir + "interop_sn_io.json");
  REQUIRE(f.good());
  const nlohmann::json io = nlohmann::json::parse(f);
  SnNet net;
  const nlohmann::json meta = voxgrad::load(dir + "interop_sn.ckpt.json", *net);
  CHECK(meta["converted_from"] == "sn.pt");
  CHECK(param(*net->enc, "weight_orig").shape() == Shape{2, 2, 1, 3, 3, 3});
  CHECK(param(*net->up, "weight_v").shape() == Shape{2, 2, 3, 2, 2, 2});
  CHECK(param(*net->up, "weight_g").shape() == Shape{4, 1, 1, 1, 1});
  CHECK(buffer(*net->head, "weight_u").shape() == Shape{2});
  net->eval();
  const Tensor want = from_json(io["y"], kFloat64);
  const Tensor y32 = net(from_json(io["x"], kFloat32));
  CHECK(allclose(y32, want, 1e-6, 1e-5));
  net->to(kFloat64);
  const Tensor y64 = net(from_json(io["x"], kFloat64));
  CHECK(allclose(y64, want, 1e-13, 1e-12));
  MESSAGE("float64 max |err| " << test::max_abs_diff(y64, want));
}

TEST_CASE("spectral_norm: Module::to converts weight_orig, u and v") {
  Linear fc(3, 2);
  utils::spectral_norm(fc);
  fc->to(kFloat64);
  const Tensor y = fc(randn({1, 3}, kFloat64));
  CHECK(y.dtype() == kFloat64);
  CHECK(fc->weight().dtype() == kFloat64);
  CHECK(buffer(*fc, "weight_u").dtype() == kFloat64);
  CHECK(buffer(*fc, "weight_v").dtype() == kFloat64);
}

}  // namespace voxgrad::nn
