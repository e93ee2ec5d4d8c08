// PyTorch parity of whole training runs (llm.c's loss-curve test): replays
// tests/golden/optim.json, written by tools/gen_optim_golden.py with torch
// 1.13, on the same Conv3d -> tanh -> ConvTranspose3d model.
//
// Tolerances. float64 runs differ from torch only in summation order inside
// the conv kernels (~1e-16 relative per op), amplified a little by 12 steps:
// losses and parameters must agree to 1e-10 relative (+1e-12 absolute).
// float32 runs add float rounding of every op (~6e-8 relative) which Adam's
// m / sqrt(v) can amplify for elements whose gradient is tiny; measured
// errors are printed and the checks use rtol 1e-4 (+ atol 1e-6) for
// parameters and rtol 1e-5 for losses. LR sequences are compared exactly:
// the schedulers evaluate PyTorch's formulas in the same order, in double.

#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"
#include "voxgrad/optim/sgd.hpp"

namespace voxgrad::optim {
namespace {

using json = nlohmann::json;

const json& golden() {
  static const json doc = [] {
    std::ifstream f(VOXGRAD_TEST_DATA_DIR "/golden/optim.json");
    REQUIRE_MESSAGE(f.good(), "tests/golden/optim.json is missing");
    return json::parse(f);
  }();
  return doc;
}

/// float32 values are stored as the shortest text of the float32: read it
/// back as float (then widen), not as the nearest double of that text.
std::vector<double> f32_values(const json& t) {
  auto v = t["data"].get<std::vector<double>>();
  for (double& x : v)
    x = static_cast<double>(static_cast<float>(x));
  return v;
}

Tensor from_json(const json& t, Dtype dt) {
  return tensor(f32_values(t), t["shape"].get<Shape>(), dt);
}

struct GoldenNet : nn::Module {
  std::shared_ptr<nn::Conv3dImpl> conv;
  std::shared_ptr<nn::ConvTranspose3dImpl> deconv;
  GoldenNet() {
    conv = register_module(
        "conv", std::make_shared<nn::Conv3dImpl>(
                    nn::Conv3dOptions(2, 4, 3).stride(2).padding(1)));
    deconv = register_module(
        "deconv",
        std::make_shared<nn::ConvTranspose3dImpl>(
            nn::ConvTranspose3dOptions(4, 2, 4).stride(2).padding(1)));
  }
  std::string name() const override {
    return "GoldenNet";
  }
  Tensor forward(const Tensor& x) {
    return deconv->forward(tanh(conv->forward(x)));
  }
};

SGDOptions sgd_options(const json& o) {
  return SGDOptions(o["lr"])
      .momentum(o.value("momentum", 0.0))
      .dampening(o.value("dampening", 0.0))
      .weight_decay(o.value("weight_decay", 0.0))
      .nesterov(o.value("nesterov", false));
}

template <class Options>
Options adam_options(const json& o) {
  Options out(o["lr"].get<double>());
  if (o.contains("betas"))
    out.betas({o["betas"][0], o["betas"][1]});
  if (o.contains("eps"))
    out.eps(o["eps"]);
  if (o.contains("weight_decay"))
    out.weight_decay(o["weight_decay"]);
  out.amsgrad(o.value("amsgrad", false));
  return out;
}

/// The optimizer of a run, with the deconv parameters in a group of their
/// own when the run says so (PyTorch: group keys override the defaults).
std::unique_ptr<Optimizer> make_optimizer(GoldenNet& net, const json& run) {
  const json& o = run["options"];
  const std::string kind = run["optimizer"];
  std::vector<ParamGroup> groups;
  auto add_groups = [&](const auto& defaults) {
    if (!run.contains("deconv_group")) {
      groups.emplace_back(net.parameters());
      return;
    }
    auto mine = defaults;
    const json& g = run["deconv_group"];
    mine.lr(g.value("lr", mine.lr()));
    mine.weight_decay(g.value("weight_decay", mine.weight_decay()));
    groups.emplace_back(net.conv->parameters());
    groups.emplace_back(net.deconv->parameters(), mine);
  };
  if (kind == "SGD") {
    add_groups(sgd_options(o));
    return std::make_unique<SGD>(groups, sgd_options(o));
  }
  if (kind == "Adam") {
    add_groups(adam_options<AdamOptions>(o));
    return std::make_unique<Adam>(groups, adam_options<AdamOptions>(o));
  }
  REQUIRE(kind == "AdamW");
  add_groups(adam_options<AdamWOptions>(o));
  return std::make_unique<AdamW>(groups, adam_options<AdamWOptions>(o));
}

std::unique_ptr<LRScheduler> make_scheduler(Optimizer& opt, const json& s) {
  const std::string type = s["type"];
  if (type == "StepLR")
    return std::make_unique<StepLR>(opt, s["step_size"], s["gamma"]);
  if (type == "CosineAnnealingLR")
    return std::make_unique<CosineAnnealingLR>(opt, s["T_max"], s["eta_min"]);
  if (type == "LinearLR")
    return std::make_unique<LinearLR>(
        opt, s["start_factor"], s["end_factor"], s["total_iters"]);
  REQUIRE(type == "Sequential");
  auto warm = std::make_shared<LinearLR>(
      opt, s["warmup"]["start_factor"], 1.0, s["warmup"]["total_iters"]);
  auto cos = std::make_shared<CosineAnnealingLR>(
      opt, s["cosine"]["T_max"], s["cosine"]["eta_min"]);
  return std::make_unique<SequentialLR>(
      opt, std::vector<std::shared_ptr<LRScheduler>>{warm, cos},
      std::vector<int64_t>{s["milestone"].get<int64_t>()});
}

/// max over elements of |got - want| / (atol + rtol |want|): <= 1 passes.
double tolerance_ratio(
    const std::vector<double>& got,
    const std::vector<double>& want,
    double atol,
    double rtol) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double r =
        std::abs(got[i] - want[i]) / (atol + rtol * std::abs(want[i]));
    worst = std::isnan(r) ? INFINITY : std::max(worst, r);
  }
  return worst;
}

double max_rel(
    const std::vector<double>& got, const std::vector<double>& want) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(
        worst, std::abs(got[i] - want[i]) / std::max(std::abs(want[i]), 1e-3));
  return worst;
}

}  // namespace

TEST_CASE("golden: optimizers on Conv3d+ConvTranspose3d match PyTorch 1.13") {
  const json& g = golden();
  const int steps = g["steps"];
  for (const json& run : g["runs"]) {
    const std::string name = run["name"], dts = run["dtype"];
    const Dtype dt = dts == "float64" ? kFloat64 : kFloat32;
    const bool f64 = dt == kFloat64;
    CAPTURE(name);
    CAPTURE(dts);
    GoldenNet net;
    net.to(dt);
    nn::NamedTensors init;
    for (const auto& [n, t] : g["init"].items())
      init.emplace_back(n, from_json(t, dt));
    net.load_state_dict(init);
    const Tensor x = from_json(g["x"], dt), target = from_json(g["target"], dt);
    auto opt = make_optimizer(net, run);
    auto sched = run.contains("scheduler")
                     ? make_scheduler(*opt, run["scheduler"])
                     : nullptr;

    std::vector<double> losses, norms;
    for (int k = 0; k < steps; ++k) {
      opt->zero_grad();
      const Tensor loss = mean(square(net.forward(x) - target));
      loss.backward();
      if (run.contains("clip_grad_norm"))
        norms.push_back(
            clip_grad_norm_(net.parameters(), run["clip_grad_norm"]));
      for (size_t gi = 0; gi < opt->num_param_groups(); ++gi)
        CHECK(
            opt->param_group(gi).options().get_lr() ==
            run["lrs"][static_cast<size_t>(k)][gi].get<double>());
      opt->step();
      if (sched)
        sched->step();
      losses.push_back(loss.item());
    }
    const auto want_losses = run["losses"].get<std::vector<double>>();
    CHECK(tolerance_ratio(losses, want_losses, 0, f64 ? 1e-10 : 1e-5) <= 1);
    if (!norms.empty())
      CHECK(
          tolerance_ratio(
              norms, run["clip_norms"].get<std::vector<double>>(), 0,
              f64 ? 1e-10 : 1e-5) <= 1);
    double worst_param = 0, worst_ratio = 0;
    for (const auto& named : net.named_parameters()) {
      const std::string& n = named.first;
      const Tensor& t = named.second;
      CAPTURE(n);
      const auto want = f64 ? run["final"][n]["data"].get<std::vector<double>>()
                            : f32_values(run["final"][n]);
      const auto got = t.to_vector<double>();
      const double ratio = f64 ? tolerance_ratio(got, want, 1e-12, 1e-10)
                               : tolerance_ratio(got, want, 1e-6, 1e-4);
      CHECK(ratio <= 1);
      worst_ratio = std::max(worst_ratio, ratio);
      worst_param = std::max(worst_param, max_rel(got, want));
    }
    MESSAGE(
        name << " " << dts << ": loss rel err " << max_rel(losses, want_losses)
             << ", params rel err " << worst_param << " (" << worst_ratio
             << " of tolerance)");
  }
}

TEST_CASE("golden: LR scheduler sequences equal PyTorch's exactly") {
  for (const json& s : golden()["schedules"]) {
    const std::string name = s["name"];
    CAPTURE(name);
    Tensor p = zeros({1});
    SGD opt({p}, SGDOptions(s["lr"]));
    auto sched = make_scheduler(opt, s);
    std::vector<double> lrs{opt.lr()};
    for (int k = 0; k < s["steps"].get<int>(); ++k) {
      sched->step();
      lrs.push_back(opt.lr());
    }
    CHECK(lrs == s["lrs"].get<std::vector<double>>());
  }
}

}  // namespace voxgrad::optim
