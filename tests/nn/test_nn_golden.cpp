// nn/ layers and losses against PyTorch 1.13: tests/golden/nn_layers.json,
// written by tools/gen_nn_golden.py (float64), run by the kit's golden
// harness (kit_golden.hpp). Every case runs twice: in float64 (tolerances
// near rounding) and in float32 (the default dtype, with float32
// tolerances), comparing outputs, the gradients of sum(y * gy) for every
// input and parameter, and buffers after each step. Parameters are loaded
// with a strict load_state_dict, so state_dict names match PyTorch's. Set
// VOXGRAD_GOLDEN_VERBOSE=1 to print the largest errors per case.

#include <nlohmann/json.hpp>

#include "kit_golden.hpp"
#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

using json = nlohmann::json;
using kit_golden::Built;
using kit_golden::from_json;
using kit_golden::unary;

const json& golden() {
  return kit_golden::load("nn_layers.json");
}

Reduction reduction_of(const json& cfg) {
  const std::string r = cfg.at("reduction");
  return r == "none" ? Reduction::None
                     : (r == "sum" ? Reduction::Sum : Reduction::Mean);
}

template <class M>
Built binary(std::shared_ptr<M> m) {
  return {m, [m](const TensorList& in) {
            return TensorList{m->forward(in[0], in[1])};
          }};
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

/// A case of nn_layers.json in the form of the kit harness
/// (kit_golden.hpp) without rewriting the file: each step's output "y" and
/// upstream gradient "gy" become one-element lists, and its results, which
/// PyTorch computed in float64 only, are the references of both runs (the
/// float32 run is held to float32 tolerances against them).
json as_kit_case(const json& c) {
  json steps = json::array(), results = json::array();
  for (const json& step : c.at("steps")) {
    steps.push_back(
        {{"training", step.at("training")},
         {"inputs", step.at("inputs")},
         {"gy", json::array({step.at("gy")})}});
    results.push_back(
        {{"outputs", json::array({step.at("y")})},
         {"grads", step.at("grads")},
         {"buffers", step.at("buffers")}});
  }
  return {
      {"name", c.at("name")},
      {"params", c.at("params")},
      {"steps", steps},
      {"results", {{"float64", results}, {"float32", results}}}};
}

void run_case(const json& c, Dtype dt, const kit_golden::Tolerance& tol) {
  kit_golden::run_case(
      as_kit_case(c), build(c.at("module"), c.at("config"), dt), dt, tol);
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
