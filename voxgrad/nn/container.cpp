#include "voxgrad/nn/container.hpp"

namespace voxgrad::nn {

namespace {
const std::shared_ptr<Module>& element(
    const std::vector<std::shared_ptr<Module>>& modules,
    size_t index,
    const char* container) {
  VOXGRAD_CHECK(
      index < modules.size(), container, ": index ", index,
      " is out of range for ", modules.size(), " module(s)");
  return modules[index];
}
}  // namespace

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules)
    push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) {
  push_back(std::to_string(modules_.size()), std::move(module));
}

void Sequential::push_back(
    const std::string& name, std::shared_ptr<Module> module) {
  VOXGRAD_CHECK(
      module != nullptr, "Sequential: module ", modules_.size(), " ('", name,
      "') is null");
  modules_.push_back(register_module(name, std::move(module)));
}

const std::shared_ptr<Module>& Sequential::operator[](size_t index) const {
  return element(modules_, index, "Sequential");
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& m : modules_)
    y = m->forward(y);
  return y;
}

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules)
    push_back(m);
}

void ModuleList::push_back(std::shared_ptr<Module> module) {
  VOXGRAD_CHECK(
      module != nullptr, "ModuleList: module ", modules_.size(), " is null");
  modules_.push_back(
      register_module(std::to_string(modules_.size()), std::move(module)));
}

void ModuleList::extend(const ModuleList& other) {
  // Copy first: `other` may be this list.
  const std::vector<std::shared_ptr<Module>> add = other.modules_;
  for (const auto& m : add)
    push_back(m);
}

const std::shared_ptr<Module>& ModuleList::operator[](size_t index) const {
  return element(modules_, index, "ModuleList");
}

}  // namespace voxgrad::nn
