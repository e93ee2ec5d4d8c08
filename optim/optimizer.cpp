#include "optim/optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include "autograd/grad_mode.hpp"

namespace voxgrad::optim {

namespace {

std::string join_problems(
    const std::string& head, const std::vector<std::string>& problems) {
  std::ostringstream os;
  os << head << ": " << problems.size() << " problem(s)";
  for (const auto& p : problems)
    os << "\n  " << p;
  return os.str();
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i ? ", '" : "'") + names[i] + "'";
  return out;
}

/// A fresh contiguous copy (never shares storage with `t`).
Tensor copy_of(const Tensor& t) {
  Tensor c = empty(t.shape(), t.dtype());
  c.copy_(t);
  return c;
}

}  // namespace

// ---- options
// ------------------------------------------------------------------

void OptimizerOptions::validate(const std::string& where) const {
  const std::vector<std::string> p = problems();
  VOXGRAD_CHECK(p.empty(), join_problems(where + ": invalid options", p));
}

namespace detail {

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
  for (auto& group : groups_) {
    const OptimizerOptions& options = group.options();
    for (const Tensor& p : group.params()) {
      const Tensor g = p.grad();
      if (!g.defined())
        continue;
      VOXGRAD_CHECK(
          g.shape() == p.shape() && g.dtype() == p.dtype(), name(),
          ".step: gradient ", dtype_name(g.dtype()), " ", shape_str(g.shape()),
          " does not match its parameter ", dtype_name(p.dtype()), " ",
          shape_str(p.shape()));
      ParamState& st = state_[p.impl().get()];
      st.step += 1;
      const Tensor grad = g.contiguous();
      if (p.is_contiguous()) {
        Tensor param = p;
        update(options, param, grad, st);
      } else {
        Tensor work = copy_of(p);
        update(options, work, grad, st);
        Tensor(p).copy_(work);
      }
    }
  }
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

// ---- state dict
// ---------------------------------------------------------------

std::unordered_map<const TensorImpl*, std::string> Optimizer::param_names(
    const NamedTensors& names) const {
  std::unordered_map<const TensorImpl*, std::string> out;
  if (names.empty()) {
    size_t k = 0;
    for (const auto& g : groups_)
      for (const Tensor& p : g.params())
        out.emplace(p.impl().get(), std::to_string(k++));
    return out;
  }
  std::unordered_map<const TensorImpl*, std::string> by_impl;
  for (const auto& [n, t] : names)
    if (t.defined())
      by_impl.emplace(t.impl().get(), n);
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& params = groups_[gi].params();
    for (size_t i = 0; i < params.size(); ++i) {
      const auto it = by_impl.find(params[i].impl().get());
      VOXGRAD_CHECK(
          it != by_impl.end(), name(), ": parameter ", i, " of group ", gi,
          " (shape ", shape_str(params[i].shape()),
          ") is not among the named parameters given (is the optimizer for "
          "another model?)");
      out.emplace(it->first, it->second);
    }
  }
  return out;
}

OptimizerStateDict Optimizer::state_dict(const NamedTensors& names) const {
  const auto by_impl = param_names(names);
  OptimizerStateDict sd;
  sd.type = name();
  for (const auto& g : groups_) {
    OptimizerStateDict::Group out;
    out.options = g.options().to_json();
    if (g.initial_lr)
      out.options["initial_lr"] = *g.initial_lr;
    for (const Tensor& p : g.params())
      out.params.push_back(by_impl.at(p.impl().get()));
    sd.param_groups.push_back(std::move(out));
  }
  for (const auto& [impl, st] : state_)
    sd.state.emplace(by_impl.at(impl), st);
  return sd;
}

std::vector<std::string> Optimizer::check_state_dict(
    const OptimizerStateDict& sd, const NamedTensors& names) const {
  std::vector<std::string> problems;
  const auto by_impl = param_names(names);
  if (sd.type != name())
    problems.push_back(
        "optimizer type is '" + sd.type + "', but this optimizer is '" +
        name() + "'");
  if (sd.param_groups.size() != groups_.size())
    problems.push_back(
        "the state has " + std::to_string(sd.param_groups.size()) +
        " param group(s), the optimizer has " + std::to_string(groups_.size()));

  // Parameter name -> (group index, tensor) for this optimizer.
  std::map<std::string, std::pair<size_t, Tensor>> mine;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (const Tensor& p : groups_[gi].params())
      mine.emplace(by_impl.at(p.impl().get()), std::make_pair(gi, p));

  // Options each group would have after loading (null when unreadable).
  std::vector<std::unique_ptr<OptimizerOptions>> loaded(groups_.size());
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    loaded[gi] = groups_[gi].options().clone();
  const size_t n = std::min(sd.param_groups.size(), groups_.size());
  for (size_t gi = 0; gi < n; ++gi) {
    const auto& src = sd.param_groups[gi];
    const std::string where = "param_groups[" + std::to_string(gi) + "]";
    std::vector<std::string> expected;
    for (const Tensor& p : groups_[gi].params())
      expected.push_back(by_impl.at(p.impl().get()));
    if (src.params != expected) {
      std::vector<std::string> missing, unexpected;
      for (const auto& e : expected)
        if (std::find(src.params.begin(), src.params.end(), e) ==
            src.params.end())
          missing.push_back(e);
      for (const auto& s : src.params)
        if (std::find(expected.begin(), expected.end(), s) == expected.end())
          unexpected.push_back(s);
      std::string msg = where + ": lists other parameters than the group (";
      if (!missing.empty())
        msg += "missing " + quoted_list(missing);
      if (!unexpected.empty())
        msg += std::string(missing.empty() ? "" : "; ") + "unexpected " +
               quoted_list(unexpected);
      if (missing.empty() && unexpected.empty())
        msg += "same names in another order";
      problems.push_back(msg + ")");
    }
    nlohmann::json opts = src.options;
    if (opts.is_object() && opts.contains("initial_lr")) {
      const auto& il = opts["initial_lr"];
      if (!il.is_number() || !std::isfinite(il.get<double>()) ||
          il.get<double>() < 0)
        problems.push_back(
            where + ": initial_lr must be a finite number >= 0 (got " +
            il.dump() + ")");
      opts.erase("initial_lr");
    }
    auto candidate = groups_[gi].options().clone();
    const auto option_problems = candidate->from_json(opts);
    for (const auto& p : option_problems)
      problems.push_back(where + ": " + p);
    // Unreadable options: check the state against the current ones.
    loaded[gi] = option_problems.empty() ? std::move(candidate)
                                         : groups_[gi].options().clone();
  }

  for (const auto& [pname, st] : sd.state) {
    const std::string where = "state['" + pname + "']";
    const auto it = mine.find(pname);
    if (it == mine.end()) {
      problems.push_back(
          where + ": no parameter of the optimizer has this name");
      continue;
    }
    const auto& [gi, param] = it->second;
    if (st.step < 0)
      problems.push_back(
          where + ": step must be >= 0 (got " + std::to_string(st.step) + ")");
    const BufferSpec spec = state_buffers(*loaded[gi]);
    for (const auto& req : spec.required)
      if (!st.buffers.count(req))
        problems.push_back(where + ": missing buffer '" + req + "'");
    for (const auto& [bname, buf] : st.buffers) {
      const bool known =
          std::count(spec.required.begin(), spec.required.end(), bname) +
              std::count(spec.optional.begin(), spec.optional.end(), bname) >
          0;
      if (!known) {
        problems.push_back(
            where + ": unexpected buffer '" + bname + "' for " + name() +
            " with these options");
        continue;
      }
      if (!buf.defined()) {
        problems.push_back(
            where + "." + bname + ": no tensor (undefined or unreadable)");
        continue;
      }
      if (buf.shape() != param.shape() || buf.dtype() != param.dtype())
        problems.push_back(
            where + "." + bname + ": " + dtype_name(buf.dtype()) + " " +
            shape_str(buf.shape()) + " does not match the parameter " +
            dtype_name(param.dtype()) + " " + shape_str(param.shape()));
    }
  }
  return problems;
}

void Optimizer::load_state_dict(
    const OptimizerStateDict& sd, const NamedTensors& names) {
  const auto problems = check_state_dict(sd, names);
  VOXGRAD_CHECK(
      problems.empty(), join_problems(name() + ".load_state_dict", problems),
      "\nnothing was loaded");
  const auto by_impl = param_names(names);
  std::map<std::string, const TensorImpl*> by_name;
  for (const auto& [impl, n] : by_impl)
    by_name.emplace(n, impl);
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    nlohmann::json opts = sd.param_groups[gi].options;
    groups_[gi].initial_lr.reset();
    if (opts.contains("initial_lr")) {
      groups_[gi].initial_lr = opts["initial_lr"].get<double>();
      opts.erase("initial_lr");
    }
    const auto p = groups_[gi].options().from_json(opts);
    VOXGRAD_ASSERT(p.empty());
  }
  state_.clear();
  for (const auto& [pname, st] : sd.state) {
    ParamState copy;
    copy.step = st.step;
    for (const auto& [bname, buf] : st.buffers)
      copy.buffers.emplace(bname, copy_of(buf));
    state_.emplace(by_name.at(pname), std::move(copy));
  }
}

}  // namespace voxgrad::optim
