#pragma once
// nn::Sequential and nn::ModuleList, PyTorch's containers. Children are
// registered as "0", "1", ... (or a name you give), so parameters appear as
// "0.weight", "2.bias" in state dicts, exactly as in PyTorch.

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "voxgrad/nn/module.hpp"

namespace voxgrad::nn {

/// Chains Module::forward(Tensor) of its children in order.
///   nn::Sequential seq({std::make_shared<nn::Linear>(4, 8),
///                       std::make_shared<nn::ReLU>()});
///   nn::Sequential seq2(std::make_shared<nn::Linear>(4, 8),
///                       std::make_shared<nn::ReLU>());
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  template <class... Ms>
  explicit Sequential(std::shared_ptr<Ms>... modules) {
    (push_back(std::move(modules)), ...);
  }

  std::string name() const override {
    return "Sequential";
  }
  Tensor forward(const Tensor& x) override;

  /// Appends a child named by its position.
  void push_back(std::shared_ptr<Module> module);
  /// Appends a child under `name` (as an OrderedDict entry in PyTorch).
  void push_back(const std::string& name, std::shared_ptr<Module> module);
  size_t size() const {
    return modules_.size();
  }
  bool empty() const {
    return modules_.empty();
  }
  /// The child at `index` (checked).
  const std::shared_ptr<Module>& operator[](size_t index) const;
  /// The child at `index`, cast to its type (checked):
  ///   seq.at<nn::Linear>(0)->weight()
  template <class M>
  std::shared_ptr<M> at(size_t index) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[index]);
    VOXGRAD_CHECK(
        m != nullptr, "Sequential: child ", index, " is a ",
        (*this)[index]->name(), ", not the requested type");
    return m;
  }
  auto begin() const {
    return modules_.begin();
  }
  auto end() const {
    return modules_.end();
  }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

/// Holds submodules (registered, so their parameters are found) without a
/// forward of its own.
///   nn::ModuleList blocks;
///   blocks.push_back(std::make_shared<nn::Linear>(8, 8));
///   for (const auto& b : blocks) x = b->forward(x);
class ModuleList : public Module {
 public:
  ModuleList() = default;
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);

  std::string name() const override {
    return "ModuleList";
  }
  void push_back(std::shared_ptr<Module> module);
  /// Appends every module of `other` (sharing them).
  void extend(const ModuleList& other);
  size_t size() const {
    return modules_.size();
  }
  bool empty() const {
    return modules_.empty();
  }
  const std::shared_ptr<Module>& operator[](size_t index) const;
  template <class M>
  std::shared_ptr<M> at(size_t index) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[index]);
    VOXGRAD_CHECK(
        m != nullptr, "ModuleList: child ", index, " is a ",
        (*this)[index]->name(), ", not the requested type");
    return m;
  }
  auto begin() const {
    return modules_.begin();
  }
  auto end() const {
    return modules_.end();
  }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace voxgrad::nn
