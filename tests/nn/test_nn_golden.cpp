// nn/ layers and losses against PyTorch 1.13: tests/golden/nn_layers.json,
// written by tools/gen_nn_golden.py (float64). Every case runs twice: in
// float64 (tolerances near rounding) and in float32 (the default dtype, with
// float32 tolerances), comparing outputs, the gradients of sum(y * gy) for
// every input and parameter, and buffers after each step. Parameters are
// loaded with a strict load_state_dict, so state_dict names match PyTorch's.
// Set VOXGRAD_GOLDEN_VERBOSE=1 to print the largest errors per case.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

using json = nlohmann::json;

const json& golden() {
  static const json doc = [] {
    std::ifstream f(
        std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/nn_layers.json");
    REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/nn_layers.json");
    return json::parse(f);
  }();
  return doc;
}

Tensor from_json(const json& t, Dtype dt) {
  return tensor(
      t.at("data").get<std::vector<double>>(), t.at("shape").get<Shape>(), dt);
}

Reduction reduction_of(const json& cfg) {
  const std::string r = cfg.at("reduction");
  return r == "none" ? Reduction::None
                     : (r == "sum" ? Reduction::Sum : Reduction::Mean);
}

struct Built {
  std::shared_ptr<Module> module;
  std::function<Tensor(const TensorList&)> forward;
};

template <class M>
Built unary(std::shared_ptr<M> m) {
  return {m, [m](const TensorList& in) { return m->forward(in[0]); }};
}

template <class M>
Built binary(std::shared_ptr<M> m) {
  return {m, [m](const TensorList& in) { return m->forward(in[0], in[1]); }};
}

Built build(const std::string& kind, const json& cfg, Dtype dt) {
  if (kind == "Linear") {
    return unary(std::make_shared<LinearImpl>(
        LinearOptions(cfg.at("in"), cfg.at("out")).bias(cfg.at("bias"))));
  }
  if (kind == "Sequential") {
    return unary(std::make_shared<SequentialImpl>(
        std::make_shared<LinearImpl>(4, 6), std::make_shared<ReLUImpl>(),
        std::make_shared<LinearImpl>(6, 3)));
  }
  if (kind == "Flatten") {
    return unary(
        std::make_shared<FlattenImpl>(FlattenOptions()
                                          .start_dim(cfg.at("start_dim"))
                                          .end_dim(cfg.at("end_dim"))));
  }
  if (kind == "Unflatten") {
    return unary(std::make_shared<UnflattenImpl>(
        UnflattenOptions(cfg.at("dim"), cfg.at("sizes").get<Shape>())));
  }
  if (kind == "ReLU")
    return unary(std::make_shared<ReLUImpl>());
  if (kind == "LeakyReLU") {
    return unary(std::make_shared<LeakyReLUImpl>(
        LeakyReLUOptions().negative_slope(cfg.at("negative_slope"))));
  }
  if (kind == "SiLU")
    return unary(std::make_shared<SiLUImpl>());
  if (kind == "Sigmoid")
    return unary(std::make_shared<SigmoidImpl>());
  if (kind == "Tanh")
    return unary(std::make_shared<TanhImpl>());
  if (kind == "Softplus") {
    return unary(std::make_shared<SoftplusImpl>(
        SoftplusOptions().beta(cfg.at("beta")).threshold(cfg.at("threshold"))));
  }
  if (kind == "BatchNorm3d") {
    std::optional<double> momentum;
    if (!cfg.at("momentum").is_null())
      momentum = cfg.at("momentum").get<double>();
    return unary(std::make_shared<BatchNorm3dImpl>(
        BatchNorm3dOptions(cfg.at("num_features"))
            .eps(cfg.at("eps"))
            .momentum(momentum)
            .affine(cfg.at("affine"))
            .track_running_stats(cfg.at("track_running_stats"))));
  }
  if (kind == "GroupNorm") {
    return unary(std::make_shared<GroupNormImpl>(
        GroupNormOptions(cfg.at("num_groups"), cfg.at("num_channels"))
            .eps(cfg.at("eps"))
            .affine(cfg.at("affine"))));
  }
  if (kind == "Upsample") {
    UpsampleOptions o;
    if (cfg.contains("size"))
      o.size(cfg.at("size").get<std::vector<int64_t>>());
    else
      o.scale_factor(cfg.at("scale_factor").get<std::vector<double>>());
    const bool trilinear = cfg.at("mode") == "trilinear";
    o.mode(trilinear ? UpsampleMode::Trilinear : UpsampleMode::Nearest);
    if (!cfg.at("align_corners").is_null())
      o.align_corners(cfg.at("align_corners").get<bool>());
    return unary(std::make_shared<UpsampleImpl>(o));
  }
  if (kind == "MSELoss")
    return binary(std::make_shared<MSELossImpl>(reduction_of(cfg)));
  if (kind == "L1Loss")
    return binary(std::make_shared<L1LossImpl>(reduction_of(cfg)));
  if (kind == "BCELoss") {
    BCELossOptions o(reduction_of(cfg));
    if (cfg.contains("weight"))
      o.weight(from_json(cfg.at("weight"), dt));
    return binary(std::make_shared<BCELossImpl>(o));
  }
  if (kind == "BCEWithLogitsLoss") {
    BCEWithLogitsLossOptions o(reduction_of(cfg));
    if (cfg.contains("weight"))
      o.weight(from_json(cfg.at("weight"), dt));
    if (cfg.contains("pos_weight"))
      o.pos_weight(from_json(cfg.at("pos_weight"), dt));
    return binary(std::make_shared<BCEWithLogitsLossImpl>(o));
  }
  if (kind == "GaussianKLLoss")
    return binary(std::make_shared<GaussianKLLossImpl>(reduction_of(cfg)));
  FAIL("unknown module kind in the golden file: " << kind);
  return {};
}

struct Tolerance {
  double atol, rtol;
};

/// Largest errors seen while comparing one case.
struct Errors {
  double abs = 0, rel = 0;
  void compare(
      const Tensor& got,
      const json& want_json,
      const Tolerance& tol,
      const std::string& what) {
    const Tensor want = from_json(want_json, kFloat64);
    REQUIRE_MESSAGE(
        got.defined(),
        what << " is undefined (want " << want.shape().size() << "-d)");
    REQUIRE_MESSAGE(
        got.shape() == want.shape(),
        what << ": shape " << shape_str(got.shape()) << " vs PyTorch "
             << shape_str(want.shape()));
    const auto g = got.to_vector<double>(), w = want.to_vector<double>();
    bool ok = true;
    for (size_t i = 0; i < g.size(); ++i) {
      const double d = std::abs(g[i] - w[i]);
      abs = std::max(abs, d);
      rel = std::max(rel, d / std::max(std::abs(w[i]), 1e-3));
      ok = ok && d <= tol.atol + tol.rtol * std::abs(w[i]);
    }
    CHECK_MESSAGE(
        ok, what << ": max abs error " << abs << " exceeds atol " << tol.atol
                 << " + rtol " << tol.rtol);
  }
};

void run_case(const json& c, Dtype dt, const Tolerance& tol) {
  const std::string name = c.at("name");
  CAPTURE(name);
  CAPTURE(dtype_name(dt));
  Built b = build(c.at("module"), c.at("config"), dt);
  b.module->to(dt);
  NamedTensors state;
  for (const auto& [k, v] : c.at("params").items())
    state.emplace_back(k, from_json(v, dt));
  b.module->load_state_dict(state);  // strict: PyTorch's names, exactly

  Errors err;
  int step_no = 0;
  for (const json& step : c.at("steps")) {
    const std::string at = "step " + std::to_string(step_no++) + " ";
    b.module->train(step.at("training").get<bool>());
    b.module->zero_grad();
    TensorList inputs;
    for (const json& x : step.at("inputs"))
      inputs.push_back(from_json(x, dt).requires_grad_());
    const Tensor y = b.forward(inputs);
    err.compare(y, step.at("y"), tol, at + "output");
    (y * from_json(step.at("gy"), dt)).sum().backward();
    for (const auto& [k, v] : step.at("grads").items()) {
      Tensor g;
      if (k.rfind("input", 0) == 0) {
        g = inputs[std::stoul(k.substr(5))].grad();
      } else {
        for (const auto& [pn, p] : b.module->named_parameters())
          if (pn == k)
            g = p.grad();
      }
      err.compare(g, v, tol, at + "gradient of " + k);
    }
    const NamedTensors buffers = b.module->named_buffers();
    for (const auto& [k, v] : step.at("buffers").items()) {
      Tensor t;
      for (const auto& [bn, bt] : buffers)
        if (bn == k)
          t = bt;
      err.compare(t, v, tol, at + "buffer " + k);
    }
  }
  if (std::getenv("VOXGRAD_GOLDEN_VERBOSE")) {
    std::cout << dtype_name(dt) << "  max abs " << err.abs << "  max rel "
              << err.rel << "  " << name << "\n";
  }
}

}  // namespace

TEST_CASE("nn golden: the file is PyTorch 1.13's, float64, seeded") {
  const json& g = golden();
  CHECK(g.at("format") == "voxgrad-nn-golden");
  CHECK(g.at("torch_version").get<std::string>().rfind("1.13", 0) == 0);
  CHECK(g.at("dtype") == "float64");
  CHECK(g.at("cases").size() >= 50);
}

TEST_CASE("nn golden: layers and losses match PyTorch in float64") {
  for (const json& c : golden().at("cases"))
    run_case(c, kFloat64, {1e-10, 1e-9});
}

TEST_CASE("nn golden: layers and losses match PyTorch in float32") {
  for (const json& c : golden().at("cases"))
    run_case(c, kFloat32, {2e-5, 1e-4});
}

TEST_CASE("nn golden: Dropout and Dropout3d scale and mask as PyTorch") {
  for (const json& d : golden().at("dropout")) {
    const std::string kind = d.at("module");
    CAPTURE(kind);
    const double p = d.at("p");
    const double scale = d.at("kept_scale");
    const Shape shape = d.at("shape").get<Shape>();
    auto gen = std::make_shared<Generator>(7);
    const AnyModule m =
        kind == "Dropout"
            ? AnyModule(Dropout(DropoutOptions(p).generator(gen)))
            : AnyModule(Dropout3d(DropoutOptions(p).generator(gen)));
    const Tensor x = rand(shape, kFloat64, gen.get()) + 1.0;
    const auto xv = x.to_vector<double>();
    const auto yv = m.forward(x).to_vector<double>();
    const int64_t inner =
        kind == "Dropout" ? 1 : shape[2] * shape[3] * shape[4];
    int64_t dropped = 0;
    for (size_t i = 0; i < yv.size(); ++i) {
      const bool kept = yv[i] != 0;
      dropped += !kept;
      if (kept)
        CHECK(yv[i] == doctest::Approx(xv[i] * scale).epsilon(1e-12));
      // Dropout3d: every element of a channel shares its fate.
      const size_t first = i - i % static_cast<size_t>(inner);
      CHECK((yv[first] != 0) == kept);
    }
    CHECK(dropped > 0);
    CHECK(dropped < static_cast<int64_t>(yv.size()));
    m->eval();
    CHECK(d.at("eval_is_identity").get<bool>());
    CHECK(test::bit_equal(m.forward(x), x));
  }
}

}  // namespace voxgrad::nn
