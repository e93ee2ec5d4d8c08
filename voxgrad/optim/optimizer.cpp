// optim::Optimizer: options, parameter groups, step() and zero_grad(). The
// state dict (by parameter name) is in voxgrad/optim/optimizer_state.cpp.

#include "voxgrad/optim/optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/mem_overlap.hpp"

namespace voxgrad::optim {

using detail::copy_of;
using detail::join_problems;

// ---- options
// ------------------------------------------------------------------

void OptimizerOptions::validate(const std::string& where) const {
  const std::vector<std::string> p = problems();
  VOXGRAD_CHECK(p.empty(), join_problems(where + ": invalid options", p));
}

namespace detail {

std::string join_problems(
    const std::string& head, const std::vector<std::string>& problems) {
  std::ostringstream os;
  os << head << ": " << problems.size() << " problem(s)";
  for (const auto& p : problems)
    os << "\n  " << p;
  return os.str();
}

Tensor copy_of(const Tensor& t) {
  Tensor c = empty(t.shape(), t.dtype());
  c.copy_(t);
  return c;
}

void check_option(
    std::vector<std::string>& problems,
    bool ok,
    const char* name,
    double value,
    const char* rule) {
  if (ok)
    return;
  problems.push_back(
      std::string(name) + " must be " + rule + " (got " + format_double(value) +
      ")");
}

std::string format_double(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void read_number(
    const nlohmann::json& j,
    const char* key,
    double& out,
    std::vector<std::string>& problems) {
  const auto it = j.find(key);
  if (it == j.end()) {
    problems.push_back(std::string("missing option '") + key + "'");
  } else if (!it->is_number()) {
    problems.push_back(
        std::string("option '") + key + "' must be a number (got " +
        it->type_name() + ")");
  } else {
    out = it->get<double>();
  }
}

void read_bool(
    const nlohmann::json& j,
    const char* key,
    bool& out,
    std::vector<std::string>& problems) {
  const auto it = j.find(key);
  if (it == j.end()) {
    problems.push_back(std::string("missing option '") + key + "'");
  } else if (!it->is_boolean()) {
    problems.push_back(
        std::string("option '") + key + "' must be true or false (got " +
        it->type_name() + ")");
  } else {
    out = it->get<bool>();
  }
}

void check_keys(
    const nlohmann::json& j,
    const std::vector<std::string>& known,
    std::vector<std::string>& problems) {
  if (!j.is_object()) {
    problems.push_back(
        std::string("options must be an object (got ") + j.type_name() + ")");
    return;
  }
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (const auto& k : known)
      ok = ok || k == key;
    if (!ok)
      problems.push_back("unexpected option '" + key + "'");
  }
}

}  // namespace detail

// ---- ParamGroup
// ---------------------------------------------------------------

ParamGroup::ParamGroup(TensorList params) : params_(std::move(params)) {}

ParamGroup::ParamGroup(TensorList params, const OptimizerOptions& options)
    : params_(std::move(params)), options_(options.clone()) {}

ParamGroup::ParamGroup(const ParamGroup& other)
    : initial_lr(other.initial_lr),
      params_(other.params_),
      options_(other.options_ ? other.options_->clone() : nullptr) {}

ParamGroup& ParamGroup::operator=(const ParamGroup& other) {
  if (this != &other) {
    initial_lr = other.initial_lr;
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}

OptimizerOptions& ParamGroup::options() {
  VOXGRAD_CHECK(
      options_ != nullptr,
      "ParamGroup: this group has no options yet (it gets the optimizer's "
      "defaults when added to an optimizer)");
  return *options_;
}

const OptimizerOptions& ParamGroup::options() const {
  return const_cast<ParamGroup*>(this)->options();
}

void ParamGroup::set_options(std::unique_ptr<OptimizerOptions> options) {
  options_ = std::move(options);
}

// ---- Optimizer
// ----------------------------------------------------------------

Optimizer::Optimizer(std::unique_ptr<OptimizerOptions> defaults)
    : defaults_(std::move(defaults)) {
  VOXGRAD_ASSERT(defaults_ != nullptr);
}

void Optimizer::add_groups(std::vector<ParamGroup> groups) {
  size_t total = 0;
  for (const auto& g : groups)
    total += g.params().size();
  VOXGRAD_CHECK(
      total > 0,
      "optimizer: got an empty parameter list (expected at least one "
      "parameter; did the model register its parameters?)");
  for (auto& g : groups)
    add_param_group(std::move(g));
}

void Optimizer::check_group(const ParamGroup& group, size_t index) const {
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const Tensor& p : g.params())
      seen.insert(p.impl().get());
  for (size_t i = 0; i < group.params().size(); ++i) {
    const Tensor& p = group.params()[i];
    VOXGRAD_CHECK(
        p.defined(), name(), ": parameter ", i, " of group ", index,
        " is an undefined tensor");
    VOXGRAD_CHECK(
        p.is_leaf(), name(), ": parameter ", i, " of group ", index, " (shape ",
        shape_str(p.shape()),
        ") is not a leaf tensor; optimize the leaf it was computed from");
    VOXGRAD_CHECK(
        seen.insert(p.impl().get()).second, name(), ": parameter ", i,
        " of group ", index, " (shape ", shape_str(p.shape()),
        ") appears more than once across the parameter groups");
  }
  VOXGRAD_CHECK(
      accepts(group.options()), name(), ": group ", index,
      " has options of another optimizer (expected ", name(), "Options)");
  group.options().validate(name() + " (group " + std::to_string(index) + ")");
}

void Optimizer::add_param_group(ParamGroup group) {
  if (!group.has_options())
    group.set_options(defaults_->clone());
  check_group(group, groups_.size());
  groups_.push_back(std::move(group));
}

ParamGroup& Optimizer::param_group(size_t i) {
  VOXGRAD_CHECK(
      i < groups_.size(), name(), ": param group ", i,
      " does not exist (the optimizer has ", groups_.size(), ")");
  return groups_[i];
}

const ParamGroup& Optimizer::param_group(size_t i) const {
  return const_cast<Optimizer*>(this)->param_group(i);
}

double Optimizer::lr() const {
  return groups_.front().options().get_lr();
}

void Optimizer::set_lr(double lr) {
  VOXGRAD_CHECK(
      std::isfinite(lr) && lr >= 0, name(),
      ".set_lr: lr must be >= 0 and finite (got ", lr, ")");
  for (auto& g : groups_)
    g.options().set_lr(lr);
}

const ParamState* Optimizer::state(const Tensor& param) const {
  const auto it = state_.find(param.impl().get());
  return it == state_.end() ? nullptr : &it->second;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  // Every check and every allocation this step can foresee happen first, so
  // a step that fails changes nothing: no parameter, no state, no step count.
  struct Work {
    const OptimizerOptions* options;
    Tensor param;       // the parameter itself
    Tensor target;      // what update() writes: param, or a contiguous copy
    Tensor grad;        // contiguous
    ParamState* state;  // null before the parameter's first step
    std::map<std::string, Tensor> cast;  // state buffers in param's dtype
  };
  std::vector<Work> work;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& group = groups_[gi];
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& p = group.params()[i];
      const Tensor g = p.grad();
      if (!g.defined())
        continue;
      const std::string which =
          "parameter " + std::to_string(i) + " of group " + std::to_string(gi) +
          " (" + dtype_name(p.dtype()) + " " + shape_str(p.shape()) + ")";
      VOXGRAD_CHECK(
          g.shape() == p.shape() && g.dtype() == p.dtype(), name(),
          ".step: the gradient of ", which, " is ", dtype_name(g.dtype()), " ",
          shape_str(g.shape()), "; it must have the parameter's dtype and ",
          "shape (was the parameter converted with to() after backward? "
          "zero_grad() and run backward again); nothing was changed");
      const std::string w = write_problem(p);
      VOXGRAD_CHECK(
          w.empty(), name(), ".step: ", which, " is ", w,
          "; nothing was changed");
      Work item{&group.options(), p, p, g.contiguous(), nullptr, {}};
      const auto it = state_.find(p.impl().get());
      if (it != state_.end()) {
        item.state = &it->second;
        for (const auto& [bname, buf] : it->second.buffers) {
          VOXGRAD_CHECK(
              buf.shape() == p.shape(), name(), ".step: the state '", bname,
              "' of ", which, " has shape ", shape_str(buf.shape()),
              " (was the parameter replaced by one of another shape?); "
              "nothing was changed");
          // A parameter converted with Module::to() after earlier steps:
          // its state follows it, as PyTorch's load_state_dict casts state
          // to the parameter's dtype.
          if (buf.dtype() != p.dtype())
            item.cast.emplace(bname, buf.to(p.dtype()).contiguous());
        }
      }
      if (!p.is_contiguous())
        item.target = copy_of(p);
      work.push_back(std::move(item));
    }
  }
  // One update_group call per group (the fused optimizers update all its
  // parameters in one pass); work is in group order.
  for (size_t b = 0; b < work.size();) {
    size_t e = b;
    std::vector<ParamUpdate> batch;
    for (; e < work.size() && work[e].options == work[b].options; ++e) {
      Work& item = work[e];
      if (item.state == nullptr)
        item.state = &state_[item.param.impl().get()];
      for (auto& [bname, t] : item.cast)
        item.state->buffers[bname] = std::move(t);
      item.state->step += 1;
      batch.push_back({item.target, item.grad, item.state});
    }
    update_group(*work[b].options, batch);
    for (size_t i = b; i < e; ++i)
      if (work[i].target.impl() != work[i].param.impl())
        work[i].param.copy_(work[i].target);
    b = e;
  }
}

void Optimizer::update_group(
    const OptimizerOptions& options, std::vector<ParamUpdate>& params) {
  for (ParamUpdate& u : params)
    update(options, u.param, u.grad, *u.state);
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& group : groups_) {
    for (const Tensor& p : group.params()) {
      Tensor g = p.grad();
      if (!g.defined())
        continue;
      if (set_to_none) {
        p.set_grad(Tensor());
        continue;
      }
      if (g.grad_fn() != nullptr) {
        g = g.detach();
        p.set_grad(g);
      }
      g.zero_();
    }
  }
}

}  // namespace voxgrad::optim
