#pragma once
// nn::Sequential and nn::ModuleList, PyTorch's containers. Children are
// registered as "0", "1", ... (or a name you give), so parameters appear as
// "0.weight", "2.bias" in state dicts, exactly as in PyTorch. Children are
// given as handles (nn::Linear(4, 8)) or shared pointers
// (std::make_shared<nn::LinearImpl>(4, 8)); see nn::AnyModule.

#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/any_module.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {
namespace detail {
/// A holder or a shared_ptr to a module: what containers take.
template <class M>
concept module_like = nn::module_holder<M> ||
    requires(const std::decay_t<M>& m) {
  requires std::is_base_of_v<
      nn::Module, typename std::decay_t<M>::element_type>;
  {m.get()};
};

template <class M>
/// The module class a holder or shared_ptr refers to.
struct module_type_of {
  using type = typename std::decay_t<M>::element_type;
};
template <nn::module_holder M>
struct module_type_of<M> {
  using type = typename std::decay_t<M>::Impl;
};
/// LinearImpl for nn::Linear and for std::shared_ptr<LinearImpl>.
template <class M>
using module_type = typename module_type_of<M>::type;
}  // namespace detail

namespace nn {

/// Chains the forward(Tensor) of its children in order.
/// ```cpp
/// nn::Sequential seq(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
/// Tensor y = seq(randn({5, 4}));
/// nn::Linear last = seq->at<nn::Linear>(2);
/// ```
class SequentialImpl : public Module {
 public:
  SequentialImpl() = default;
  SequentialImpl(std::initializer_list<AnyModule> modules);
  template <detail::module_like... Ms>
  explicit SequentialImpl(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  /// Each child's forward in turn; the input itself when empty.
  Tensor forward(const Tensor& x);

  /// Appends a child named by its position.
  template <detail::module_like M>
  void push_back(M&& module) {
    push_back(std::to_string(modules_.size()), std::forward<M>(module));
  }
  /// Appends a child under `name` (as an OrderedDict entry in PyTorch).
  template <detail::module_like M>
  void push_back(const std::string& name, M&& module) {
    static_assert(
        detail::tensor_forward<detail::module_type<M>>,
        "nn::Sequential chains one tensor through its children: each child "
        "needs a public `Tensor forward(const Tensor&)`, and this one has "
        "none (the module type is in the instantiation below; a "
        "std::shared_ptr<nn::Module> hides it: pass the module's own type)");
    push_back(name, AnyModule(std::forward<M>(module)));
  }
  /// Appends an already type-erased child (checked at run time).
  void push_back(AnyModule module) {
    push_back(std::to_string(modules_.size()), std::move(module));
  }
  void push_back(const std::string& name, AnyModule module);

  size_t size() const {
    return modules_.size();
  }
  bool empty() const {
    return modules_.empty();
  }
  /// The child at `index` (checked).
  const AnyModule& operator[](size_t index) const;
  /// The child at `index` as T, checked: a module type gives a shared_ptr
  /// (at<nn::LinearImpl>), a handle type the handle (at<nn::Linear>).
  template <class T>
  auto at(size_t index) const {
    return detail::module_cast<T>(
        (*this)[index].ptr(), "Sequential: child " + std::to_string(index));
  }
  auto begin() const {
    return modules_.begin();
  }
  auto end() const {
    return modules_.end();
  }

 private:
  std::vector<AnyModule> modules_;
};

/// nn::Sequential: the handle of a SequentialImpl.
class Sequential : public ModuleHolder<SequentialImpl> {
 public:
  using ModuleHolder<SequentialImpl>::ModuleHolder;
  /// An empty SequentialImpl.
  Sequential() = default;
  /// nn::Sequential({nn::Linear(4, 8), std::make_shared<nn::ReLUImpl>()})
  Sequential(std::initializer_list<AnyModule> modules)
      : ModuleHolder(std::make_shared<SequentialImpl>(modules)) {}
  /// The child at `index`: seq[0].
  const AnyModule& operator[](size_t index) const {
    return (*get())[index];
  }
  /// The children: `for (const auto& child : seq)`.
  auto begin() const {
    return get()->begin();
  }
  auto end() const {
    return get()->end();
  }
};

/// Holds submodules (registered, so their parameters are found) without a
/// forward of its own.
/// ```cpp
/// nn::ModuleList blocks;
/// blocks->push_back(nn::Linear(8, 8));
/// blocks->push_back(nn::Tanh());
/// Tensor h = randn({2, 8});
/// for (const auto& block : *blocks)
///   h = block(h);
/// ```
class ModuleListImpl : public Module {
 public:
  ModuleListImpl() = default;
  ModuleListImpl(std::initializer_list<AnyModule> modules);
  template <detail::module_like... Ms>
  explicit ModuleListImpl(Ms&&... modules) {
    (push_back(AnyModule(std::forward<Ms>(modules))), ...);
  }

  void push_back(AnyModule module);
  /// Appends every module of `other` (sharing them).
  void extend(const ModuleListImpl& other);
  size_t size() const {
    return modules_.size();
  }
  bool empty() const {
    return modules_.empty();
  }
  const AnyModule& operator[](size_t index) const;
  template <class T>
  auto at(size_t index) const {
    return detail::module_cast<T>(
        (*this)[index].ptr(), "ModuleList: child " + std::to_string(index));
  }
  auto begin() const {
    return modules_.begin();
  }
  auto end() const {
    return modules_.end();
  }

 private:
  std::vector<AnyModule> modules_;
};

/// nn::ModuleList: the handle of a ModuleListImpl.
class ModuleList : public ModuleHolder<ModuleListImpl> {
 public:
  using ModuleHolder<ModuleListImpl>::ModuleHolder;
  /// An empty ModuleListImpl.
  ModuleList() = default;
  ModuleList(std::initializer_list<AnyModule> modules)
      : ModuleHolder(std::make_shared<ModuleListImpl>(modules)) {}
  const AnyModule& operator[](size_t index) const {
    return (*get())[index];
  }
  auto begin() const {
    return get()->begin();
  }
  auto end() const {
    return get()->end();
  }
};

}  // namespace nn
}  // namespace voxgrad

VOXGRAD_PUBLIC_END
