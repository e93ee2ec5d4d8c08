#include "voxgrad/optim/adam.hpp"

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/core/kernels/optim_update.hpp"

namespace voxgrad::optim {

// ---- options
// ------------------------------------------------------------------

template <class Derived>
std::vector<std::string> AdamOptionsBase<Derived>::problems() const {
  std::vector<std::string> p;
  using detail::check_option;
  check_option(p, std::isfinite(lr_) && lr_ >= 0, "lr", lr_, ">= 0 and finite");
  check_option(
      p, betas_.first >= 0 && betas_.first < 1, "betas[0]", betas_.first,
      "in [0, 1)");
  check_option(
      p, betas_.second >= 0 && betas_.second < 1, "betas[1]", betas_.second,
      "in [0, 1)");
  check_option(
      p, std::isfinite(eps_) && eps_ >= 0, "eps", eps_, ">= 0 and finite");
  check_option(
      p, std::isfinite(weight_decay_) && weight_decay_ >= 0, "weight_decay",
      weight_decay_, ">= 0 and finite");
  return p;
}

template <class Derived>
nlohmann::json AdamOptionsBase<Derived>::to_json() const {
  return {{"lr", lr_},           {"betas", {betas_.first, betas_.second}},
          {"eps", eps_},         {"weight_decay", weight_decay_},
          {"amsgrad", amsgrad_}, {"maximize", maximize_}};
}

template <class Derived>
std::vector<std::string> AdamOptionsBase<Derived>::from_json(
    const nlohmann::json& j) {
  std::vector<std::string> p;
  detail::check_keys(
      j, {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"}, p);
  if (!j.is_object())
    return p;
  AdamOptionsBase o = *this;
  detail::read_number(j, "lr", o.lr_, p);
  const auto b = j.find("betas");
  if (b == j.end()) {
    p.push_back("missing option 'betas'");
  } else if (
      !b->is_array() || b->size() != 2 || !(*b)[0].is_number() ||
      !(*b)[1].is_number()) {
    p.push_back(
        "option 'betas' must be [beta1, beta2] (got " + b->dump() + ")");
  } else {
    o.betas_ = {(*b)[0].get<double>(), (*b)[1].get<double>()};
  }
  detail::read_number(j, "eps", o.eps_, p);
  detail::read_number(j, "weight_decay", o.weight_decay_, p);
  detail::read_bool(j, "amsgrad", o.amsgrad_, p);
  detail::read_bool(j, "maximize", o.maximize_, p);
  // Rules too: fields that could not be read kept their (valid) values.
  for (auto& rule : o.problems())
    p.push_back(std::move(rule));
  if (p.empty())
    *this = o;
  return p;
}

template class AdamOptionsBase<AdamOptions>;
template class AdamOptionsBase<AdamWOptions>;

// ---- the update shared by Adam and AdamW
// --------------------------------------

namespace {

// The state buffer `name` of a parameter, created as zeros on first use.
Tensor& buffer(ParamState& state, const Tensor& param, const char* name) {
  auto it = state.buffers.find(name);
  if (it == state.buffers.end())
    it = state.buffers.emplace(name, zeros(param.shape(), param.dtype())).first;
  return it->second;
}

// One fused pass (kernels::adam_update) over the group's parameters of
// dtype T. Scalars in double as PyTorch computes them in Python, then
// rounded to T where a tensor op would round them.
template <class T, class Options>
void adam_pass(
    const Options& o, bool decoupled, std::vector<ParamUpdate>& params) {
  const double beta1 = o.betas().first, beta2 = o.betas().second;
  const double lr = o.lr(), wd = o.weight_decay();
  std::vector<kernels::AdamTensor<T>> tensors;
  for (ParamUpdate& u : params) {
    if (u.param.dtype() != dtype_of<T>())
      continue;
    ParamState& st = *u.state;
    Tensor& exp_avg = buffer(st, u.param, "exp_avg");
    Tensor& exp_avg_sq = buffer(st, u.param, "exp_avg_sq");
    Tensor* max_sq =
        o.amsgrad() ? &buffer(st, u.param, "max_exp_avg_sq") : nullptr;
    const double t = static_cast<double>(st.step);
    const double bias_correction1 = 1 - std::pow(beta1, t);
    const double bias_correction2 = 1 - std::pow(beta2, t);
    kernels::AdamTensor<T> k;
    k.p = u.param.mutable_data<T>();
    k.g = u.grad.data<T>();
    k.m = exp_avg.mutable_data<T>();
    k.v = exp_avg_sq.mutable_data<T>();
    k.vmax = max_sq ? max_sq->mutable_data<T>() : nullptr;
    k.n = u.param.numel();
    k.neg_step = static_cast<T>(-(lr / bias_correction1));
    k.bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
    tensors.push_back(k);
  }
  if (tensors.empty())
    return;
  kernels::AdamScalars<T> s;
  s.sign = o.maximize() ? T(-1) : T(1);
  s.l2 = !decoupled && wd != 0;
  s.wd = static_cast<T>(wd);
  s.decoupled = decoupled;
  s.decay = static_cast<T>(1 - lr * wd);
  s.b1 = static_cast<T>(beta1);
  s.one_minus_b1 = static_cast<T>(1 - beta1);
  s.b2 = static_cast<T>(beta2);
  s.one_minus_b2 = static_cast<T>(1 - beta2);
  s.eps = static_cast<T>(o.eps());
  kernels::adam_update(tensors.data(), static_cast<int64_t>(tensors.size()), s);
}

template <class Options>
void adam_group(
    const Options& o, bool decoupled, std::vector<ParamUpdate>& params) {
  adam_pass<float>(o, decoupled, params);
  adam_pass<double>(o, decoupled, params);
}

template <class Options>
void adam_one(
    const Options& o,
    bool decoupled,
    Tensor& param,
    const Tensor& grad,
    ParamState& state) {
  std::vector<ParamUpdate> one{{param, grad, &state}};
  adam_group(o, decoupled, one);
}

}  // namespace

// ---- Adam
// ---------------------------------------------------------------------

Adam::Adam(TensorList params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults)
    : Optimizer(defaults.clone()) {
  defaults.validate("Adam");
  add_groups(std::move(groups));
}

AdamOptions& Adam::options(size_t group) {
  return static_cast<AdamOptions&>(param_group(group).options());
}

bool Adam::accepts(const OptimizerOptions& options) const {
  return dynamic_cast<const AdamOptions*>(&options) != nullptr;
}

BufferSpec Adam::state_buffers(const OptimizerOptions& options) const {
  const auto& o = static_cast<const AdamOptions&>(options);
  if (o.amsgrad())
    return {{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, {}};
  return {{"exp_avg", "exp_avg_sq"}, {}};
}

void Adam::update(
    const OptimizerOptions& options,
    Tensor& param,
    const Tensor& grad,
    ParamState& state) {
  adam_one(static_cast<const AdamOptions&>(options), false, param, grad, state);
}

void Adam::update_group(
    const OptimizerOptions& options, std::vector<ParamUpdate>& params) {
  adam_group(static_cast<const AdamOptions&>(options), false, params);
}

// ---- AdamW
// --------------------------------------------------------------------

AdamW::AdamW(TensorList params, const AdamWOptions& options)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults)
    : Optimizer(defaults.clone()) {
  defaults.validate("AdamW");
  add_groups(std::move(groups));
}

AdamWOptions& AdamW::options(size_t group) {
  return static_cast<AdamWOptions&>(param_group(group).options());
}

bool AdamW::accepts(const OptimizerOptions& options) const {
  return dynamic_cast<const AdamWOptions*>(&options) != nullptr;
}

BufferSpec AdamW::state_buffers(const OptimizerOptions& options) const {
  const auto& o = static_cast<const AdamWOptions&>(options);
  if (o.amsgrad())
    return {{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, {}};
  return {{"exp_avg", "exp_avg_sq"}, {}};
}

void AdamW::update(
    const OptimizerOptions& options,
    Tensor& param,
    const Tensor& grad,
    ParamState& state) {
  adam_one(static_cast<const AdamWOptions&>(options), true, param, grad, state);
}

void AdamW::update_group(
    const OptimizerOptions& options, std::vector<ParamUpdate>& params) {
  adam_group(static_cast<const AdamWOptions&>(options), true, params);
}

}  // namespace voxgrad::optim
