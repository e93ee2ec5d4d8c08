// nn::utils::ExponentialMovingAverage (NOTE [ EMA state ] in ema.hpp).

#include "voxgrad/nn/utils/ema.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/optim_update.hpp"

namespace voxgrad::nn::utils {
namespace {

/// One level of the averages' name tree: the model's "enc.0.weight" is the
/// buffer "weight" of the node "0" of the node "enc" (module names hold no
/// '.'), so state_dict() spells it "module.enc.0.weight".
struct AverageNode : Module {
  std::string name() const override {
    return "Averages";
  }
  Tensor add(const std::string& dotted, const Tensor& value) {
    const size_t dot = dotted.find('.');
    if (dot == std::string::npos)
      return register_buffer(dotted, value);
    const std::string head = dotted.substr(0, dot);
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) {
      return n.first == head;
    });
    if (it == nodes.end()) {
      nodes.emplace_back(
          head, register_module(head, std::make_shared<AverageNode>()));
      it = std::prev(nodes.end());
    }
    return it->second->add(dotted.substr(dot + 1), value);
  }
  std::vector<std::pair<std::string, std::shared_ptr<AverageNode>>> nodes;
};

NamedTensors tracked_tensors(const Module& model, bool buffers) {
  NamedTensors out = model.named_parameters();
  if (buffers) {
    for (auto& nb : model.named_buffers())
      out.push_back(std::move(nb));
  }
  return out;
}

}  // namespace

ExponentialMovingAverageImpl::ExponentialMovingAverageImpl(
    const Module& model, const ExponentialMovingAverageOptions& options)
    : options_(options) {
  const double d = options.decay();
  VOXGRAD_CHECK(
      std::isfinite(d) && d >= 0 && d <= 1,
      "ExponentialMovingAverage: decay must be in [0, 1] (got ", d, ")");
  NoGradGuard no_grad;
  auto root = register_module("module", std::make_shared<AverageNode>());
  for (const auto& [n, t] : tracked_tensors(model, options.use_buffers()))
    averages_.emplace_back(n, root->add(n, t.detach().clone()));
  n_averaged_ = register_buffer("n_averaged", zeros({}, kInt64));
}

double ExponentialMovingAverageImpl::decay_at(int64_t n) const {
  VOXGRAD_CHECK(
      n >= 0, "ExponentialMovingAverage::decay_at: n must be >= 0 (got ", n,
      ")");
  const double d = options_.decay();
  if (!options_.warmup())
    return d;
  const double nd = static_cast<double>(n);
  return std::min(d, (1 + nd) / (10 + nd));
}

int64_t ExponentialMovingAverageImpl::num_updates() const {
  return n_averaged_.item<int64_t>();
}

TensorList ExponentialMovingAverageImpl::match(
    const Module& model, const char* op) const {
  const NamedTensors now = tracked_tensors(model, options_.use_buffers());
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : now)
    by_name.emplace(n, &t);
  const char* what =
      options_.use_buffers() ? "parameters and buffers" : "parameters";
  VOXGRAD_CHECK(
      now.size() == averages_.size(), "ExponentialMovingAverage::", op,
      ": the model has ", now.size(), " ", what, " but the average tracks ",
      averages_.size(), "; pass the model it was made from");
  TensorList out;
  out.reserve(averages_.size());
  for (const auto& [n, avg] : averages_) {
    const auto it = by_name.find(n);
    VOXGRAD_CHECK(
        it != by_name.end(), "ExponentialMovingAverage::", op,
        ": the model has no tensor '", n,
        "' that the average tracks; pass the model it was made from");
    const Tensor& t = *it->second;
    VOXGRAD_CHECK(
        t.shape() == avg.shape() && t.dtype() == avg.dtype(),
        "ExponentialMovingAverage::", op, ": '", n, "' is ",
        dtype_name(t.dtype()), " ", shape_str(t.shape()), " in the model but ",
        dtype_name(avg.dtype()), " ", shape_str(avg.shape()),
        " in the average");
    out.push_back(t);
  }
  return out;
}

void ExponentialMovingAverageImpl::update(const Module& model) {
  const TensorList now = match(model, "update");
  const int64_t n = num_updates();
  const double weight = 1 - decay_at(n);
  std::vector<kernels::EmaTensor<float>> f32;
  std::vector<kernels::EmaTensor<double>> f64;
  TensorList keep;  // contiguous copies of strided model tensors
  NoGradGuard no_grad;
  for (size_t i = 0; i < now.size(); ++i) {
    const Tensor& avg = averages_[i].second;
    if (avg.dtype() == kInt64) {  // counters: copied, not averaged
      avg.copy_(now[i].detach());
      continue;
    }
    const Tensor p = now[i].detach().contiguous();
    keep.push_back(p);
    if (avg.dtype() == kFloat32)
      f32.push_back({avg.mutable_data<float>(), p.data<float>(), p.numel()});
    else
      f64.push_back({avg.mutable_data<double>(), p.data<double>(), p.numel()});
  }
  if (!f32.empty()) {
    kernels::ema_update<float>(
        f32.data(), static_cast<int64_t>(f32.size()),
        static_cast<float>(weight));
  }
  if (!f64.empty()) {
    kernels::ema_update<double>(
        f64.data(), static_cast<int64_t>(f64.size()), weight);
  }
  n_averaged_.mutable_data<int64_t>()[0] = n + 1;
}

void ExponentialMovingAverageImpl::copy_to(Module& model) const {
  const TensorList now = match(model, "copy_to");
  NoGradGuard no_grad;
  for (size_t i = 0; i < now.size(); ++i)
    now[i].detach().copy_(averages_[i].second);
}

AverageSwap ExponentialMovingAverageImpl::swap(Module& model) {
  const TensorList now = match(model, "swap");
  std::vector<std::pair<Tensor, Tensor>> pairs;
  for (size_t i = 0; i < now.size(); ++i)
    pairs.emplace_back(now[i].detach(), averages_[i].second);
  return AverageSwap(std::move(pairs));
}

namespace {
void exchange_values(const std::vector<std::pair<Tensor, Tensor>>& pairs) {
  NoGradGuard no_grad;
  for (const auto& [a, b] : pairs) {
    const Tensor tmp = a.clone();
    a.copy_(b);
    b.copy_(tmp);
  }
}
}  // namespace

AverageSwap::AverageSwap(std::vector<std::pair<Tensor, Tensor>> pairs)
    : pairs_(std::move(pairs)) {
  exchange_values(pairs_);
}

AverageSwap::~AverageSwap() {
  exchange_values(pairs_);
}

Tensor ExponentialMovingAverageImpl::average(const std::string& name) const {
  for (const auto& [n, t] : averages_)
    if (n == name)
      return t;
  VOXGRAD_CHECK(
      false, "ExponentialMovingAverage::average: no tracked tensor '", name,
      "'");
  return {};
}

std::vector<std::string> ExponentialMovingAverageImpl::tracked_names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : averages_)
    out.push_back(n);
  return out;
}

std::string ExponentialMovingAverageImpl::extra_repr() const {
  std::ostringstream os;
  os << "decay=" << options_.decay()
     << ", warmup=" << (options_.warmup() ? "true" : "false")
     << ", use_buffers=" << (options_.use_buffers() ? "true" : "false");
  return os.str();
}

}  // namespace voxgrad::nn::utils
