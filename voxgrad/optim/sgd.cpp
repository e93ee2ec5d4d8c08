#include "voxgrad/optim/sgd.hpp"

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/core/kernels/optim_update.hpp"

namespace voxgrad::optim {

std::vector<std::string> SGDOptions::problems() const {
  std::vector<std::string> p;
  using detail::check_option;
  check_option(p, std::isfinite(lr_) && lr_ >= 0, "lr", lr_, ">= 0 and finite");
  check_option(
      p, std::isfinite(momentum_) && momentum_ >= 0, "momentum", momentum_,
      ">= 0 and finite");
  check_option(p, std::isfinite(dampening_), "dampening", dampening_, "finite");
  check_option(
      p, std::isfinite(weight_decay_) && weight_decay_ >= 0, "weight_decay",
      weight_decay_, ">= 0 and finite");
  if (nesterov_ && (momentum_ <= 0 || dampening_ != 0)) {
    p.push_back(
        "nesterov requires momentum > 0 and dampening == 0 (got momentum " +
        detail::format_double(momentum_) + ", dampening " +
        detail::format_double(dampening_) + ")");
  }
  return p;
}

nlohmann::json SGDOptions::to_json() const {
  return {
      {"lr", lr_},
      {"momentum", momentum_},
      {"dampening", dampening_},
      {"weight_decay", weight_decay_},
      {"nesterov", nesterov_},
      {"maximize", maximize_}};
}

std::vector<std::string> SGDOptions::from_json(const nlohmann::json& j) {
  std::vector<std::string> p;
  detail::check_keys(
      j,
      {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"},
      p);
  if (!p.empty() && !j.is_object())
    return p;
  SGDOptions o = *this;
  detail::read_number(j, "lr", o.lr_, p);
  detail::read_number(j, "momentum", o.momentum_, p);
  detail::read_number(j, "dampening", o.dampening_, p);
  detail::read_number(j, "weight_decay", o.weight_decay_, p);
  detail::read_bool(j, "nesterov", o.nesterov_, p);
  detail::read_bool(j, "maximize", o.maximize_, p);
  // Rules too: fields that could not be read kept their (valid) values.
  for (auto& rule : o.problems())
    p.push_back(std::move(rule));
  if (p.empty())
    *this = o;
  return p;
}

SGD::SGD(TensorList params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults)
    : Optimizer(defaults.clone()) {
  defaults.validate("SGD");
  add_groups(std::move(groups));
}

SGDOptions& SGD::options(size_t group) {
  return static_cast<SGDOptions&>(param_group(group).options());
}

bool SGD::accepts(const OptimizerOptions& options) const {
  return dynamic_cast<const SGDOptions*>(&options) != nullptr;
}

BufferSpec SGD::state_buffers(const OptimizerOptions& options) const {
  // The momentum buffer appears on the first step with momentum != 0; a
  // state may lack it (momentum was 0 then), so it is never required.
  (void)options;
  return {{}, {"momentum_buffer"}};
}

namespace {

// One fused pass (kernels::sgd_update) over the group's parameters of
// dtype T. A momentum buffer appears on a parameter's first step with
// momentum != 0 and then takes the update as is (PyTorch's rule).
template <class T>
void sgd_pass(const SGDOptions& o, std::vector<ParamUpdate>& params) {
  std::vector<kernels::SgdTensor<T>> tensors;
  for (ParamUpdate& u : params) {
    if (u.param.dtype() != dtype_of<T>())
      continue;
    kernels::SgdTensor<T> k;
    k.p = u.param.mutable_data<T>();
    k.g = u.grad.data<T>();
    k.n = u.param.numel();
    if (o.momentum() != 0) {
      auto& buffers = u.state->buffers;
      auto it = buffers.find("momentum_buffer");
      k.fresh = it == buffers.end();
      if (k.fresh)
        it = buffers
                 .emplace(
                     "momentum_buffer", zeros(u.param.shape(), u.param.dtype()))
                 .first;
      k.buf = it->second.mutable_data<T>();
    }
    tensors.push_back(k);
  }
  if (tensors.empty())
    return;
  kernels::SgdScalars<T> s;
  s.sign = o.maximize() ? T(-1) : T(1);
  s.has_wd = o.weight_decay() != 0;
  s.wd = static_cast<T>(o.weight_decay());
  s.neg_lr = static_cast<T>(-o.lr());
  s.momentum = static_cast<T>(o.momentum());
  s.keep = static_cast<T>(1 - o.dampening());
  s.nesterov = o.nesterov();
  kernels::sgd_update(tensors.data(), static_cast<int64_t>(tensors.size()), s);
}

}  // namespace

void SGD::update(
    const OptimizerOptions& options,
    Tensor& param,
    const Tensor& grad,
    ParamState& state) {
  std::vector<ParamUpdate> one{{param, grad, &state}};
  update_group(options, one);
}

void SGD::update_group(
    const OptimizerOptions& options, std::vector<ParamUpdate>& params) {
  const auto& o = static_cast<const SGDOptions&>(options);
  sgd_pass<float>(o, params);
  sgd_pass<double>(o, params);
}

}  // namespace voxgrad::optim
