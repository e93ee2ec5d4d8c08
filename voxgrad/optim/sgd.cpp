#include "voxgrad/optim/sgd.hpp"

#include <cmath>

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

void SGD::update(
    const OptimizerOptions& options,
    Tensor& param,
    const Tensor& grad,
    ParamState& state) {
  const auto& o = static_cast<const SGDOptions&>(options);
  dispatch(param.dtype(), [&]<class T>() {
    T* p = param.mutable_data<T>();
    const T* g = grad.data<T>();
    const int64_t n = param.numel();
    const bool has_wd = o.weight_decay() != 0;
    const T wd = static_cast<T>(o.weight_decay());
    const T neg_lr = static_cast<T>(-o.lr());
    const T sign = o.maximize() ? T(-1) : T(1);
    if (o.momentum() == 0) {
      for (int64_t i = 0; i < n; ++i) {
        T d = sign * g[i];
        if (has_wd)
          d = d + wd * p[i];
        p[i] = p[i] + neg_lr * d;
      }
      return;
    }
    const T mom = static_cast<T>(o.momentum());
    const T keep = static_cast<T>(1 - o.dampening());
    auto it = state.buffers.find("momentum_buffer");
    const bool fresh = it == state.buffers.end();
    if (fresh)
      it = state.buffers
               .emplace("momentum_buffer", zeros(param.shape(), param.dtype()))
               .first;
    T* buf = it->second.mutable_data<T>();
    for (int64_t i = 0; i < n; ++i) {
      T d = sign * g[i];
      if (has_wd)
        d = d + wd * p[i];
      buf[i] = fresh ? d : buf[i] * mom + keep * d;
      d = o.nesterov() ? d + mom * buf[i] : buf[i];
      p[i] = p[i] + neg_lr * d;
    }
  });
}

}  // namespace voxgrad::optim
