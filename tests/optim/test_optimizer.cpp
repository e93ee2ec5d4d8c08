// optim::SGD, Adam, AdamW: update rules, groups, lazy state, state dicts and
// option validation. PyTorch parity end to end is tests/optim/test_golden.cpp.

#include <cmath>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/sgd.hpp"
#include "voxgrad/optim/state_dict.hpp"

namespace voxgrad::optim {
namespace {

/// A leaf parameter holding `values` (float32 unless told).
Tensor param(std::vector<double> values, Dtype dt = kFloat32) {
  const auto n = static_cast<int64_t>(values.size());
  Tensor t = tensor(values, {n}, dt);
  t.requires_grad_();
  return t;
}

void set_grad(const Tensor& p, std::vector<double> g) {
  p.set_grad(tensor(g, p.shape(), p.dtype()));
}

}  // namespace

TEST_CASE("SGD plain step is p - lr * g, in place on the parameter") {
  Tensor p = param({1.0, -2.0, 3.0});
  const void* storage = p.raw_data();
  SGD opt({p}, SGDOptions(0.5));
  CHECK(opt.state(p) == nullptr);
  set_grad(p, {2.0, 4.0, -6.0});
  opt.step();
  CHECK(p.to_vector<float>() == std::vector<float>{0.0f, -4.0f, 6.0f});
  CHECK(p.raw_data() == storage);  // handles held by modules stay valid
  CHECK(p.requires_grad());
  REQUIRE(opt.state(p) != nullptr);
  CHECK(opt.state(p)->step == 1);
  CHECK(opt.state(p)->buffers.empty());
}

TEST_CASE("SGD momentum, dampening, nesterov and weight decay follow PyTorch") {
  // Two steps by hand, in double, with PyTorch's formulas.
  const double lr = 0.1, mom = 0.9, wd = 0.01, damp = 0.25;
  const double p0 = 1.5, g1 = 0.5, g2 = -0.25;
  for (bool nesterov : {false, true}) {
    CAPTURE(nesterov);
    const double dampening = nesterov ? 0.0 : damp;
    Tensor p = param({p0}, kFloat64);
    SGD opt(
        {p}, SGDOptions(lr)
                 .momentum(mom)
                 .dampening(dampening)
                 .weight_decay(wd)
                 .nesterov(nesterov));
    double want = p0, buf = 0;
    for (int k = 0; k < 2; ++k) {
      const double g = k == 0 ? g1 : g2;
      set_grad(p, {g});
      opt.step();
      double d = g + wd * want;
      buf = k == 0 ? d : buf * mom + (1 - dampening) * d;
      d = nesterov ? d + mom * buf : buf;
      want = want + (-lr) * d;
      CHECK(p.item() == want);
    }
    CHECK(opt.state(p)->buffers.count("momentum_buffer") == 1);
    CHECK(opt.state(p)->buffers.at("momentum_buffer").item() == buf);
  }
}

TEST_CASE("SGD maximize ascends") {
  Tensor p = param({1.0});
  SGD opt({p}, SGDOptions(0.5).maximize(true));
  set_grad(p, {2.0});
  opt.step();
  CHECK(p.item() == 2.0);
}

TEST_CASE("Adam's first step moves each element by about lr against its grad") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    Tensor p = param({1.0, 1.0, 1.0}, dt);
    Adam opt({p}, AdamOptions(0.01));
    set_grad(p, {3.0, -0.5, 1e-3});
    opt.step();
    // m_hat = g, v_hat = g^2: p -= lr * g / (|g| + eps).
    const auto v = p.to_vector<double>();
    CHECK(v[0] == doctest::Approx(0.99).epsilon(1e-6));
    CHECK(v[1] == doctest::Approx(1.01).epsilon(1e-6));
    CHECK(v[2] == doctest::Approx(1 - 0.01 * 1e-3 / (1e-3 + 1e-8)));
    CHECK(opt.state(p)->step == 1);
    CHECK(opt.state(p)->buffers.size() == 2);
    CHECK(p.dtype() == dt);
  }
}

TEST_CASE("Adam two steps match the formula in double, with amsgrad") {
  const double lr = 0.05, b1 = 0.8, b2 = 0.9, eps = 1e-3, wd = 0.1;
  Tensor p = param({0.7}, kFloat64);
  Adam opt(
      {p},
      AdamOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd).amsgrad(true));
  double want = 0.7, m = 0, v = 0, vmax = 0;
  for (int t = 1; t <= 3; ++t) {
    const double g0 = t == 1 ? 2.0 : (t == 2 ? 0.1 : -0.3);
    set_grad(p, {g0});
    opt.step();
    const double g = g0 + wd * want;
    m = m * b1 + (1 - b1) * g;
    v = v * b2 + (1 - b2) * g * g;
    vmax = std::max(vmax, v);
    const double step_size = lr / (1 - std::pow(b1, t));
    const double denom = std::sqrt(vmax) / std::sqrt(1 - std::pow(b2, t)) + eps;
    want = want + (-step_size) * m / denom;
    CHECK(p.item() == doctest::Approx(want).epsilon(1e-15));
  }
  CHECK(opt.state(p)->buffers.at("max_exp_avg_sq").item() == vmax);
}

TEST_CASE(
    "AdamW decays the weights directly, Adam adds the decay to the grad") {
  Tensor a = param({2.0}, kFloat64), b = param({2.0}, kFloat64);
  AdamW w({a}, AdamWOptions(0.1).weight_decay(0.5));
  Adam l2({b}, AdamOptions(0.1).weight_decay(0.5));
  set_grad(a, {0.0});
  set_grad(b, {0.0});
  w.step();
  l2.step();
  CHECK(a.item() == 2.0 * (1 - 0.1 * 0.5));  // m = 0: decay only
  CHECK(b.item() == doctest::Approx(2.0 - 0.1).epsilon(1e-6));  // g = wd * p
  CHECK(AdamWOptions().weight_decay() == 0.01);
  CHECK(AdamOptions().weight_decay() == 0.0);
}

TEST_CASE("parameters without a gradient are skipped and get no state") {
  Tensor a = param({1.0}), b = param({1.0});
  Adam opt({a, b});
  set_grad(a, {1.0});
  opt.step();
  CHECK(a.item() != 1.0);
  CHECK(b.item() == 1.0);
  CHECK(opt.state(b) == nullptr);
}

TEST_CASE("parameter groups keep their own options, and set_lr sets them all") {
  Tensor a = param({1.0}), b = param({1.0});
  SGD opt(
      {ParamGroup({a}), ParamGroup({b}, SGDOptions(0.25).momentum(0.5))},
      SGDOptions(0.5));
  CHECK(opt.num_param_groups() == 2);
  CHECK(opt.options(0).lr() == 0.5);
  CHECK(opt.options(1).lr() == 0.25);
  CHECK(opt.options(1).momentum() == 0.5);
  set_grad(a, {1.0});
  set_grad(b, {1.0});
  opt.step();
  CHECK(a.item() == 0.5);
  CHECK(b.item() == 0.75);
  opt.set_lr(0.125);
  CHECK(opt.lr() == 0.125);
  CHECK(opt.param_group(1).options().get_lr() == 0.125);
  CHECK_ERROR_CONTAINS(opt.param_group(2), "group 2", "has 2");
  CHECK_ERROR_CONTAINS(opt.set_lr(-1), "lr", "-1", ">= 0");
  Tensor c = param({1.0});
  opt.add_param_group(ParamGroup({c}));
  CHECK(opt.options(2).lr() == 0.5);  // defaults, not the current lr
}

TEST_CASE("zero_grad clears or zeroes the gradients") {
  Tensor a = param({1.0, 2.0});
  SGD opt({a}, SGDOptions(0.1));
  set_grad(a, {1.0, 1.0});
  opt.zero_grad(false);
  CHECK(a.grad().to_vector<float>() == std::vector<float>{0, 0});
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("a non-contiguous parameter is updated through its view") {
  Tensor base = zeros({2, 3});
  Tensor p = base.transpose(0, 1);  // a leaf view, not contiguous
  REQUIRE_FALSE(p.is_contiguous());
  p.requires_grad_();
  SGD opt({p}, SGDOptions(1.0));
  p.set_grad(arange(6).reshape({3, 2}));
  opt.step();
  CHECK(base.to_vector<float>() == std::vector<float>{0, -2, -4, -1, -3, -5});
}

TEST_CASE("options are validated with the value and the rule") {
  Tensor p = param({1.0});
  CHECK_ERROR_CONTAINS(SGD({p}, SGDOptions(-0.1)), "lr", "-0.1", ">= 0");
  CHECK_ERROR_CONTAINS(
      SGD({p}, SGDOptions(0.1).momentum(-1)), "momentum", "-1", ">= 0");
  CHECK_ERROR_CONTAINS(
      SGD({p}, SGDOptions(0.1).nesterov(true)),
      "nesterov requires momentum > 0 and dampening == 0", "momentum 0");
  CHECK_ERROR_CONTAINS(
      SGD({p}, SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)),
      "dampening 0.1");
  CHECK_ERROR_CONTAINS(
      SGD({p}, SGDOptions(0.1).weight_decay(-1e-4)), "weight_decay", "-1e-04");
  CHECK_ERROR_CONTAINS(
      Adam({p}, AdamOptions().betas({1.0, 0.999})), "betas[0]", "[0, 1)");
  CHECK_ERROR_CONTAINS(
      Adam({p}, AdamOptions().betas({0.9, -0.1})), "betas[1]", "-0.1");
  CHECK_ERROR_CONTAINS(Adam({p}, AdamOptions().eps(-1)), "eps", ">= 0");
  CHECK_ERROR_CONTAINS(Adam({p}, AdamOptions(NAN)), "lr", "nan");
  CHECK_ERROR_CONTAINS(
      AdamW({p}, AdamWOptions().weight_decay(-0.01)), "weight_decay");
  // Every problem at once.
  CHECK_ERROR_CONTAINS(
      Adam({p}, AdamOptions(-1).eps(-1)), "2 problem(s)", "lr", "eps");
  // Groups are validated too, naming the group.
  CHECK_ERROR_CONTAINS(
      SGD({ParamGroup({p}, SGDOptions(-2))}, SGDOptions(0.1)), "group 0", "-2");
}

TEST_CASE("bad parameter lists are refused") {
  Tensor p = param({1.0});
  CHECK_ERROR_CONTAINS(SGD(TensorList{}, SGDOptions(0.1)), "empty parameter");
  CHECK_ERROR_CONTAINS(SGD({p, p}, SGDOptions(0.1)), "appears more than once");
  CHECK_ERROR_CONTAINS(
      SGD({ParamGroup({p}), ParamGroup({p})}, SGDOptions(0.1)),
      "more than once");
  Tensor q = p * 2.0;
  CHECK_ERROR_CONTAINS(SGD({q}, SGDOptions(0.1)), "not a leaf");
  CHECK_ERROR_CONTAINS(
      SGD({ParamGroup({p}, AdamOptions())}, SGDOptions(0.1)),
      "options of another optimizer");
  CHECK_ERROR_CONTAINS(SGD({Tensor()}, SGDOptions(0.1)), "undefined");
}

TEST_CASE(
    "state_dict round trip: a resumed optimizer continues bit-identically") {
  for (int kind = 0; kind < 3; ++kind) {
    CAPTURE(kind);
    auto make = [&](const TensorList& ps) -> std::unique_ptr<Optimizer> {
      if (kind == 0)
        return std::make_unique<SGD>(
            ps, SGDOptions(0.1).momentum(0.9).nesterov(true));
      if (kind == 1)
        return std::make_unique<Adam>(ps, AdamOptions(0.01).amsgrad(true));
      return std::make_unique<AdamW>(ps, AdamWOptions(0.01));
    };
    Tensor a = param({1.0, 2.0}), b = param({-1.0});
    Tensor a2 = param({1.0, 2.0}), b2 = param({-1.0});
    auto o1 = make({a, b});
    auto o2 = make({a2, b2});
    const NamedTensors names{{"a", a}, {"b", b}};
    const NamedTensors names2{{"a", a2}, {"b", b2}};
    for (int k = 0; k < 3; ++k) {
      set_grad(a, {0.5 * k + 0.1, -0.2});
      if (k != 1)
        set_grad(b, {0.3});
      else
        b.set_grad(Tensor());
      o1->step();
    }
    o1->set_lr(0.02);
    const OptimizerStateDict sd = o1->state_dict(names);
    CHECK(sd.type == o1->name());
    CHECK(sd.param_groups.at(0).params == std::vector<std::string>{"a", "b"});
    CHECK(sd.state.at("a").step == 3);
    CHECK(sd.state.at("b").step == 2);
    {
      NoGradGuard g;
      a2.copy_(a);
      b2.copy_(b);
    }
    o2->load_state_dict(sd, names2);
    CHECK(o2->lr() == 0.02);
    for (int k = 0; k < 2; ++k) {
      for (auto [p, q] : {std::pair{a, a2}, std::pair{b, b2}}) {
        set_grad(p, std::vector<double>(static_cast<size_t>(p.numel()), 0.7));
        set_grad(q, std::vector<double>(static_cast<size_t>(q.numel()), 0.7));
      }
      o1->step();
      o2->step();
    }
    CHECK(test::bit_equal(a, a2));
    CHECK(test::bit_equal(b, b2));
    // The loaded buffers are copies, not the source's tensors.
    for (const auto& [n, buf] : o2->state(a2)->buffers)
      CHECK_FALSE(buf.shares_storage_with(o1->state(a)->buffers.at(n)));
  }
}

TEST_CASE("load_state_dict reports every problem and changes nothing") {
  Tensor a = param({1.0, 2.0}), b = param({-1.0});
  Adam src({a, b}, AdamOptions(0.01));
  set_grad(a, {1.0, 1.0});
  src.step();
  OptimizerStateDict sd = src.state_dict({{"a", a}, {"b", b}});

  Tensor a2 = param({1.0, 2.0}), b2 = param({-1.0});
  Adam dst({a2, b2}, AdamOptions(0.5));
  const NamedTensors names{{"a", a2}, {"b", b2}};
  OptimizerStateDict bad = sd;
  bad.type = "SGD";
  bad.param_groups[0].options["lr"] = -3;
  bad.param_groups[0].options["foo"] = 1;
  bad.param_groups[0].params = {"a", "c"};
  bad.state["a"].buffers["exp_avg"] = zeros({3});
  bad.state["a"].buffers.erase("exp_avg_sq");
  bad.state["a"].buffers["momentum_buffer"] = zeros({2});
  bad.state["zzz"] = ParamState{};
  const std::string msg =
      test::error_of([&] { dst.load_state_dict(bad, names); });
  for (const char* part :
       {"type is 'SGD'", "missing 'b'", "unexpected 'c'",
        "unexpected option 'foo'", "lr must be >= 0", "[3]",
        "missing buffer 'exp_avg_sq'", "unexpected buffer 'momentum_buffer'",
        "state['zzz']", "nothing was loaded"})
    CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
  CHECK(dst.lr() == 0.5);
  CHECK(dst.state(a2) == nullptr);

  // Names not among the optimizer's parameters are a usage error.
  CHECK_ERROR_CONTAINS(
      src.state_dict({{"a", a}}), "not among the named parameters");
  // With no names, parameters are numbered as in PyTorch.
  CHECK(
      src.state_dict().param_groups[0].params ==
      std::vector<std::string>{"0", "1"});
}

}  // namespace voxgrad::optim
