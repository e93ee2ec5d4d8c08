#include "voxgrad/optim/lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include <nlohmann/json.hpp>

namespace voxgrad::optim {

namespace {

bool is_int(const nlohmann::json& j) {
  return j.is_number_integer();  // true for unsigned too
}

}  // namespace

// ---- base
// -----------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& opt) : opt_(&opt) {
  for (size_t i = 0; i < opt.num_param_groups(); ++i) {
    ParamGroup& g = opt.param_group(i);
    if (!g.initial_lr)
      g.initial_lr = g.options().get_lr();
    base_lrs_.push_back(*g.initial_lr);
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> out;
  for (const auto& g : opt_->param_groups())
    out.push_back(g.options().get_lr());
  return out;
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  VOXGRAD_CHECK(
      lrs.size() == opt_->num_param_groups(), name(), ": the optimizer has ",
      opt_->num_param_groups(),
      " param group(s), but the scheduler was made for ", lrs.size(),
      " (add param groups before creating schedulers)");
  for (size_t i = 0; i < lrs.size(); ++i)
    opt_->param_group(i).options().set_lr(lrs[i]);
  last_lr_ = group_lrs();
}

void LRScheduler::step() {
  VOXGRAD_CHECK(
      base_lrs_.size() == opt_->num_param_groups(), name(),
      ".step: the optimizer has ", opt_->num_param_groups(),
      " param group(s), but the scheduler was made for ", base_lrs_.size());
  step_count_ += 1;
  last_epoch_ += 1;
  apply(get_lr());
}

void LRScheduler::step(int64_t epoch) {
  VOXGRAD_CHECK(
      epoch >= 0, name(), ".step(epoch): epoch must be >= 0 (got ", epoch, ")");
  step_count_ += 1;
  last_epoch_ = epoch;
  apply(closed_form_lr());
}

nlohmann::json LRScheduler::state_dict() const {
  return {
      {"type", name()},
      {"last_epoch", last_epoch_},
      {"step_count", step_count_},
      {"base_lrs", base_lrs_},
      {"last_lr", last_lr_},
      {"settings", settings()}};
}

std::vector<std::string> LRScheduler::check_extra(const nlohmann::json&) {
  return {};
}

void LRScheduler::load_extra(const nlohmann::json&) {}

std::vector<std::string> LRScheduler::check_state(const nlohmann::json& s) {
  std::vector<std::string> p;
  if (!s.is_object()) {
    p.push_back(
        std::string("state must be an object (got ") + s.type_name() + ")");
    return p;
  }
  std::vector<std::string> known{"type",     "last_epoch", "step_count",
                                 "base_lrs", "last_lr",    "settings"};
  if (name() == "SequentialLR")
    known.push_back("schedulers");
  for (const auto& [k, v] : s.items())
    if (std::find(known.begin(), known.end(), k) == known.end())
      p.push_back("unexpected key '" + k + "'");
  const auto field = [&](const char* key) -> const nlohmann::json* {
    const auto it = s.find(key);
    if (it == s.end()) {
      p.push_back(std::string("missing key '") + key + "'");
      return nullptr;
    }
    return &*it;
  };
  if (const auto* t = field("type"); t && *t != name())
    p.push_back(
        "type is " + t->dump() + ", but this scheduler is '" + name() + "'");
  if (const auto* e = field("last_epoch");
      e && !(is_int(*e) && e->get<int64_t>() >= -1))
    p.push_back("last_epoch must be an integer >= -1 (got " + e->dump() + ")");
  if (const auto* c = field("step_count");
      c && !(is_int(*c) && c->get<int64_t>() >= 0))
    p.push_back("step_count must be an integer >= 0 (got " + c->dump() + ")");
  const size_t groups = opt_->num_param_groups();
  for (const char* key : {"base_lrs", "last_lr"}) {
    const auto* a = field(key);
    if (!a)
      continue;
    bool ok = a->is_array() && a->size() == groups;
    if (ok)
      for (const auto& x : *a)
        ok = ok && x.is_number() && std::isfinite(x.get<double>()) &&
             x.get<double>() >= 0;
    if (!ok)
      p.push_back(
          std::string(key) + " must hold " + std::to_string(groups) +
          " finite lr(s) >= 0, one per param group (got " +
          a->dump().substr(0, 200) + ")");
  }
  if (const auto* st = field("settings"); st && *st != settings())
    p.push_back(
        "settings " + st->dump().substr(0, 200) +
        " differ from this scheduler's " + settings().dump());
  for (auto& e : check_extra(s))
    p.push_back(std::move(e));
  return p;
}

void LRScheduler::apply_state(const nlohmann::json& s) {
  load_extra(s);
  last_epoch_ = s["last_epoch"].get<int64_t>();
  step_count_ = s["step_count"].get<int64_t>();
  base_lrs_ = s["base_lrs"].get<std::vector<double>>();
  last_lr_ = s["last_lr"].get<std::vector<double>>();
  for (size_t i = 0; i < last_lr_.size(); ++i)
    opt_->param_group(i).options().set_lr(last_lr_[i]);
}

void LRScheduler::load_state_dict(const nlohmann::json& state) {
  const auto p = check_state(state);
  if (!p.empty()) {
    std::ostringstream os;
    os << name() << ".load_state_dict: " << p.size()
       << " problem(s), nothing was loaded:";
    for (const auto& x : p)
      os << "\n  " << x;
    VOXGRAD_FAIL(os.str());
  }
  apply_state(state);
}

// ---- StepLR
// ---------------------------------------------------------------------

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma)
    : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  VOXGRAD_CHECK(
      step_size >= 1, "StepLR: step_size must be >= 1 (got ", step_size, ")");
  VOXGRAD_CHECK(
      std::isfinite(gamma) && gamma >= 0,
      "StepLR: gamma must be >= 0 and finite (got ", gamma, ")");
  initial_step();
}

std::vector<double> StepLR::get_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0)
    return lrs;
  for (double& lr : lrs)
    lr = lr * gamma_;
  return lrs;
}

std::vector<double> StepLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(
        base * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
  return lrs;
}

nlohmann::json StepLR::settings() const {
  return {{"step_size", step_size_}, {"gamma", gamma_}};
}

// ---- CosineAnnealingLR
// ----------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(
    Optimizer& opt, int64_t T_max, double eta_min)
    : LRScheduler(opt), t_max_(T_max), eta_min_(eta_min) {
  VOXGRAD_CHECK(
      T_max >= 1, "CosineAnnealingLR: T_max must be >= 1 (got ", T_max, ")");
  VOXGRAD_CHECK(
      std::isfinite(eta_min) && eta_min >= 0,
      "CosineAnnealingLR: eta_min must be >= 0 and finite (got ", eta_min, ")");
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() const {
  // Term for term as torch/optim/lr_scheduler.py writes it, so the doubles
  // agree with PyTorch's to the last bit.
  constexpr double pi = std::numbers::pi;
  const double e = static_cast<double>(last_epoch_);
  const double T = static_cast<double>(t_max_);
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0)
    return lrs;
  for (size_t i = 0; i < lrs.size(); ++i) {
    const double base = base_lrs_[i];
    if (step_count_ == 1 && last_epoch_ > 0)
      lrs[i] = eta_min_ + (base - eta_min_) * (1 + std::cos(e * pi / T)) / 2;
    else if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0)
      lrs[i] = lrs[i] + (base - eta_min_) * (1 - std::cos(pi / T)) / 2;
    else
      lrs[i] = (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) *
                   (lrs[i] - eta_min_) +
               eta_min_;
  }
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() const {
  constexpr double pi = std::numbers::pi;
  const double e = static_cast<double>(last_epoch_);
  const double T = static_cast<double>(t_max_);
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(
        eta_min_ + (base - eta_min_) * (1 + std::cos(pi * e / T)) / 2);
  return lrs;
}

nlohmann::json CosineAnnealingLR::settings() const {
  return {{"T_max", t_max_}, {"eta_min", eta_min_}};
}

// ---- LinearLR
// -------------------------------------------------------------------

LinearLR::LinearLR(
    Optimizer& opt, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(opt),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  VOXGRAD_CHECK(
      start_factor > 0 && start_factor <= 1,
      "LinearLR: start_factor must be in (0, 1] (got ", start_factor, ")");
  VOXGRAD_CHECK(
      end_factor >= 0 && end_factor <= 1,
      "LinearLR: end_factor must be in [0, 1] (got ", end_factor, ")");
  VOXGRAD_CHECK(
      total_iters >= 1, "LinearLR: total_iters must be >= 1 (got ", total_iters,
      ")");
  initial_step();
}

std::vector<double> LinearLR::get_lr() const {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs)
      lr = lr * start_factor_;
    return lrs;
  }
  if (last_epoch_ > total_iters_)
    return lrs;
  const double e = static_cast<double>(last_epoch_);
  const double n = static_cast<double>(total_iters_);
  for (double& lr : lrs)
    lr = lr * (1. + (end_factor_ - start_factor_) /
                        (n * start_factor_ +
                         (e - 1) * (end_factor_ - start_factor_)));
  return lrs;
}

std::vector<double> LinearLR::closed_form_lr() const {
  const double e = static_cast<double>(std::min(total_iters_, last_epoch_));
  const double n = static_cast<double>(total_iters_);
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(
        base * (start_factor_ + (end_factor_ - start_factor_) * e / n));
  return lrs;
}

nlohmann::json LinearLR::settings() const {
  return {
      {"start_factor", start_factor_},
      {"end_factor", end_factor_},
      {"total_iters", total_iters_}};
}

// ---- SequentialLR
// ---------------------------------------------------------------

SequentialLR::SequentialLR(
    Optimizer& opt,
    std::vector<std::shared_ptr<LRScheduler>> schedulers,
    std::vector<int64_t> milestones)
    : LRScheduler(opt),
      schedulers_(std::move(schedulers)),
      milestones_(std::move(milestones)) {
  VOXGRAD_CHECK(
      !schedulers_.empty(), "SequentialLR: expects at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    VOXGRAD_CHECK(
        schedulers_[i] != nullptr, "SequentialLR: scheduler ", i, " is null");
    VOXGRAD_CHECK(
        schedulers_[i]->opt_ == &opt, "SequentialLR: scheduler ", i, " (",
        schedulers_[i]->name(),
        ") drives another optimizer; all must drive the one passed in");
  }
  VOXGRAD_CHECK(
      milestones_.size() + 1 == schedulers_.size(),
      "SequentialLR: expects one milestone fewer than schedulers (got ",
      schedulers_.size(), " schedulers and ", milestones_.size(),
      " milestones)");
  for (size_t i = 0; i < milestones_.size(); ++i)
    VOXGRAD_CHECK(
        milestones_[i] >= 1 && (i == 0 || milestones_[i] > milestones_[i - 1]),
        "SequentialLR: milestones must be >= 1 and strictly increasing (got ",
        milestones_[i], " at index ", i, ")");
  last_epoch_ = 0;
  // As PyTorch: reset the lrs, undo the step each child's constructor made,
  // and let the first child start over.
  for (size_t i = 0; i < opt.num_param_groups(); ++i)
    opt.param_group(i).options().set_lr(base_lrs_[i]);
  for (auto& s : schedulers_)
    s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  last_epoch_ += 1;
  step_count_ += 1;
  const size_t idx = static_cast<size_t>(
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
      milestones_.begin());
  LRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    s.step(int64_t{0});
  else
    s.step();
  last_lr_ = s.get_last_lr();
}

std::vector<double> SequentialLR::get_lr() const {
  return group_lrs();
}

nlohmann::json SequentialLR::settings() const {
  std::vector<std::string> names;
  for (const auto& s : schedulers_)
    names.push_back(s->name());
  return {{"milestones", milestones_}, {"schedulers", names}};
}

nlohmann::json SequentialLR::state_dict() const {
  nlohmann::json out = LRScheduler::state_dict();
  out["schedulers"] = nlohmann::json::array();
  for (const auto& s : schedulers_)
    out["schedulers"].push_back(s->state_dict());
  return out;
}

std::vector<std::string> SequentialLR::check_extra(const nlohmann::json& s) {
  std::vector<std::string> p;
  const auto it = s.find("schedulers");
  if (it == s.end() || !it->is_array() || it->size() != schedulers_.size()) {
    p.push_back(
        "schedulers must be an array of " + std::to_string(schedulers_.size()) +
        " scheduler states");
    return p;
  }
  for (size_t i = 0; i < schedulers_.size(); ++i)
    for (const auto& e : schedulers_[i]->check_state((*it)[i]))
      p.push_back("schedulers[" + std::to_string(i) + "]: " + e);
  return p;
}

void SequentialLR::load_extra(const nlohmann::json& s) {
  for (size_t i = 0; i < schedulers_.size(); ++i)
    schedulers_[i]->apply_state(s["schedulers"][i]);
}

}  // namespace voxgrad::optim
