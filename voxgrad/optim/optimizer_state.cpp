// Optimizer state dicts: the state keyed by parameter name, every reason a
// state dict cannot be loaded, and loading it (all checks first, then the
// replacement), in PyTorch 1.13's manner.

#include "voxgrad/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/optim/state_dict.hpp"

namespace voxgrad::optim {

namespace {

using detail::copy_of;
using detail::join_problems;

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i ? ", '" : "'") + names[i] + "'";
  return out;
}

}  // namespace

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
      // Another float dtype is fine: load_state_dict casts it to the
      // parameter's (as PyTorch does).
      const bool floating = buf.dtype() == kFloat32 || buf.dtype() == kFloat64;
      if (buf.shape() != param.shape() || !floating)
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
  // The new state is built (and cast) before anything is replaced.
  std::unordered_map<const TensorImpl*, const Tensor*> params;
  for (const auto& g : groups_)
    for (const Tensor& p : g.params())
      params.emplace(p.impl().get(), &p);
  std::unordered_map<const TensorImpl*, ParamState> state;
  for (const auto& [pname, st] : sd.state) {
    const TensorImpl* impl = by_name.at(pname);
    const Dtype dtype = params.at(impl)->dtype();
    ParamState copy;
    copy.step = st.step;
    for (const auto& [bname, buf] : st.buffers)
      copy.buffers.emplace(
          bname, buf.dtype() == dtype ? copy_of(buf) : copy_of(buf.to(dtype)));
    state.emplace(impl, std::move(copy));
  }
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
  state_ = std::move(state);
}

}  // namespace voxgrad::optim
