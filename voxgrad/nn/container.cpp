#include "voxgrad/nn/container.hpp"

namespace voxgrad::nn {

namespace {
const AnyModule& element(
    const std::vector<AnyModule>& modules,
    size_t index,
    const char* container) {
  VOXGRAD_CHECK(
      index < modules.size(), container, ": index ", index,
      " is out of range for ", modules.size(), " module(s)");
  return modules[index];
}
}  // namespace

SequentialImpl::SequentialImpl(std::initializer_list<AnyModule> modules) {
  for (const auto& m : modules)
    push_back(m);
}

void SequentialImpl::push_back(const std::string& name, AnyModule module) {
  VOXGRAD_CHECK(
      module.ptr() != nullptr, "Sequential: module ", modules_.size(), " ('",
      name, "') is null");
  VOXGRAD_CHECK(
      module.has_tensor_forward(), "Sequential: module ", modules_.size(),
      " ('", name, "', a ", module->name(),
      ") has no forward(const Tensor&) returning a Tensor, and a Sequential ",
      "chains one tensor through its children");
  register_module(name, module.ptr());
  modules_.push_back(std::move(module));
}

const AnyModule& SequentialImpl::operator[](size_t index) const {
  return element(modules_, index, "Sequential");
}

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& m : modules_)
    y = m.forward(y);
  return y;
}

ModuleListImpl::ModuleListImpl(std::initializer_list<AnyModule> modules) {
  for (const auto& m : modules)
    push_back(m);
}

void ModuleListImpl::push_back(AnyModule module) {
  VOXGRAD_CHECK(
      module.ptr() != nullptr, "ModuleList: module ", modules_.size(),
      " is null");
  register_module(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
}

void ModuleListImpl::extend(const ModuleListImpl& other) {
  // Copy first: `other` may be this list.
  const std::vector<AnyModule> add = other.modules_;
  for (const auto& m : add)
    push_back(m);
}

const AnyModule& ModuleListImpl::operator[](size_t index) const {
  return element(modules_, index, "ModuleList");
}

}  // namespace voxgrad::nn
