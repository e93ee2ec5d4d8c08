// LR schedulers: PyTorch 1.13's sequences (bit-exact where the values come
// from torch), chaining, validation and state dicts. The golden runs in
// tests/optim/test_golden.cpp check more sequences against torch.

#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"
#include "voxgrad/optim/sgd.hpp"

namespace voxgrad::optim {
namespace {

struct Fixture {
  Tensor a = zeros({1}), b = zeros({1});
  SGD opt{
      {ParamGroup({a}), ParamGroup({b}, SGDOptions(0.01))}, SGDOptions(0.1)};
};

/// lr of group 0 after construction, then after each of n steps.
template <class S>
std::vector<double> run(Optimizer& opt, S& sched, int n) {
  std::vector<double> out{opt.param_group(0).options().get_lr()};
  for (int i = 0; i < n; ++i) {
    sched.step();
    out.push_back(opt.param_group(0).options().get_lr());
  }
  return out;
}

}  // namespace

TEST_CASE("StepLR decays every step_size epochs, per group") {
  Fixture f;
  StepLR s(f.opt, 2, 0.5);
  CHECK(s.base_lrs() == std::vector<double>{0.1, 0.01});
  CHECK(
      run(f.opt, s, 5) ==
      std::vector<double>{0.1, 0.1, 0.05, 0.05, 0.025, 0.025});
  CHECK(s.get_last_lr() == std::vector<double>{0.025, 0.0025});
  CHECK(s.last_epoch() == 5);
  CHECK(f.opt.param_group(0).initial_lr == 0.1);
}

TEST_CASE("CosineAnnealingLR follows the cosine from base_lr to eta_min") {
  Fixture f;
  CosineAnnealingLR s(f.opt, 4, 0.02);
  const auto lrs = run(f.opt, s, 8);
  for (int e = 0; e <= 8; ++e) {
    const double want =
        0.02 + (0.1 - 0.02) * (1 + std::cos(std::numbers::pi * e / 4)) / 2;
    CHECK(lrs[static_cast<size_t>(e)] == doctest::Approx(want).epsilon(1e-12));
  }
  CHECK(lrs[4] == doctest::Approx(0.02));
  CHECK(lrs[8] == doctest::Approx(0.1));  // periodic, as PyTorch's
}

TEST_CASE("LinearLR warm-up then CosineAnnealingLR matches torch bit for bit") {
  // torch 1.13: SGD lr 0.1; LinearLR(0.1, 1.0, 3); CosineAnnealingLR(5, 0.01);
  // SequentialLR([warmup, cosine], milestones=[3]); lr after each step.
  const std::vector<double> torch_lrs{
      0.010000000000000002,
      0.04,
      0.07,
      0.1,
      0.09140576474687263,
      0.06890576474687263,
      0.04109423525312736,
      0.018594235253127367,
      0.01,
      0.018594235253127367,
      0.04109423525312739};
  Tensor p = zeros({1});
  SGD opt({p}, SGDOptions(0.1));
  auto warm = std::make_shared<LinearLR>(opt, 0.1, 1.0, 3);
  auto cos = std::make_shared<CosineAnnealingLR>(opt, 5, 0.01);
  SequentialLR s(opt, {warm, cos}, {3});
  CHECK(run(opt, s, 10) == torch_lrs);
  CHECK(s.get_last_lr() == std::vector<double>{torch_lrs.back()});
}

TEST_CASE("scheduler state_dict round trip resumes the same sequence") {
  auto make = [](Optimizer& opt) {
    auto warm = std::make_shared<LinearLR>(opt, 0.25, 1.0, 2);
    auto cos = std::make_shared<CosineAnnealingLR>(opt, 6);
    return std::make_unique<SequentialLR>(
        opt, std::vector<std::shared_ptr<LRScheduler>>{warm, cos},
        std::vector<int64_t>{2});
  };
  Fixture f1, f2;
  auto s1 = make(f1.opt);
  auto s2 = make(f2.opt);
  for (int i = 0; i < 4; ++i)
    s1->step();
  const nlohmann::json state = s1->state_dict();
  CHECK(state["type"] == "SequentialLR");
  CHECK(state["schedulers"].size() == 2);
  // Through text, as a checkpoint's metadata would carry it.
  s2->load_state_dict(nlohmann::json::parse(state.dump()));
  CHECK(f2.opt.lr() == f1.opt.lr());
  for (int i = 0; i < 5; ++i) {
    s1->step();
    s2->step();
    CHECK(s2->get_last_lr() == s1->get_last_lr());
  }
}

TEST_CASE("scheduler arguments and states are validated") {
  Fixture f;
  CHECK_ERROR_CONTAINS(StepLR(f.opt, 0), "step_size must be >= 1", "got 0");
  CHECK_ERROR_CONTAINS(CosineAnnealingLR(f.opt, 0), "T_max must be >= 1");
  CHECK_ERROR_CONTAINS(
      LinearLR(f.opt, 0.0), "start_factor must be in (0, 1]", "got 0");
  CHECK_ERROR_CONTAINS(LinearLR(f.opt, 0.5, 1.5), "end_factor", "1.5");
  auto s = std::make_shared<StepLR>(f.opt, 3);
  CHECK_ERROR_CONTAINS(SequentialLR(f.opt, {s, s}, {}), "one milestone fewer");
  CHECK_ERROR_CONTAINS(
      SequentialLR(f.opt, {s, s, s}, {3, 2}), "strictly increasing");
  Fixture g;
  auto other = std::make_shared<StepLR>(g.opt, 3);
  CHECK_ERROR_CONTAINS(
      SequentialLR(f.opt, {s, other}, {2}), "drives another optimizer");

  StepLR a(f.opt, 3, 0.5);
  nlohmann::json st = a.state_dict();
  st["settings"]["step_size"] = 4;
  st["last_epoch"] = -7;
  st["base_lrs"] = {0.1};
  st["bogus"] = 1;
  const std::string msg = test::error_of([&] { a.load_state_dict(st); });
  for (const char* part :
       {"4 problem(s)", "unexpected key 'bogus'",
        "last_epoch must be an integer >= -1 (got -7)", "base_lrs must hold 2",
        "settings"})
    CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
  CHECK_ERROR_CONTAINS(
      a.load_state_dict(CosineAnnealingLR(f.opt, 3).state_dict()),
      "type is \"CosineAnnealingLR\"");
}

}  // namespace voxgrad::optim
