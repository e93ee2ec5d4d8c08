#pragma once
// nn::AnyModule: a child of a container (Sequential, ModuleList) with its
// single-tensor forward remembered. nn::Module has no virtual forward (each
// module declares the forward its inputs need, as in libtorch), so a
// container learns how to call a child when the child is added, from its
// type: the forward(const Tensor&) of that type, if it has one.

#include <memory>
#include <type_traits>
#include <utility>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"
#include "voxgrad/nn/module_holder.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {
namespace detail {

/// M has a forward taking one tensor and returning one.
template <class M>
concept tensor_forward = requires(M& m, const Tensor& x) {
  { m.forward(x) } -> std::convertible_to<Tensor>;
};

[[noreturn]] void throw_bad_module_cast(
    const nn::Module& got,
    const std::type_info& want,
    const std::string& where);

/// The module type of a handle type, or T itself.
template <class T>
struct impl_of {
  using type = T;
};
template <nn::module_holder T>
struct impl_of<T> {
  using type = typename T::Impl;
};

/// `m` as T: std::shared_ptr<T> for a module type, the holder for a holder
/// type; throws naming `where`, the child's type and T when it is not one.
template <class T>
auto module_cast(
    const std::shared_ptr<nn::Module>& m, const std::string& where) {
  using Impl = typename impl_of<T>::type;
  static_assert(
      std::is_base_of_v<nn::Module, Impl>,
      "voxgrad: at<T>() / as<T>() take a module type (nn::LinearImpl) or "
      "its handle (nn::Linear)");
  auto cast = std::dynamic_pointer_cast<Impl>(m);
  if (!cast)
    throw_bad_module_cast(*m, typeid(T), where);
  if constexpr (nn::module_holder<T>)
    return T(std::move(cast));
  else
    return cast;
}

}  // namespace detail

namespace nn {

/// Holds any module whose forward takes and returns one Tensor, type-erased
/// (torch::nn::AnyModule), for Sequential and ModuleList.
class AnyModule {
 public:
  /// Empty.
  AnyModule() = default;
  /// A module by shared pointer; its static type decides the forward.
  template <class M>
  requires std::is_base_of_v<Module, M> AnyModule(
      std::shared_ptr<M> module)  // NOLINT: implicit on purpose
      : module_(std::move(module)) {
    if constexpr (detail::tensor_forward<M>) {
      forward_ = [](Module& m, const Tensor& x) -> Tensor {
        return detail::call_forward(static_cast<M&>(m), x);  // with hooks
      };
    }
  }
  /// A module by holder (nn::Linear, ...).
  template <module_holder H>
  AnyModule(const H& holder)  // NOLINT: implicit on purpose
      : AnyModule(holder.ptr()) {}

  const std::shared_ptr<Module>& ptr() const {
    return module_;
  }
  Module* operator->() const {
    return module_.get();
  }
  Module& operator*() const {
    return *module_;
  }
  explicit operator bool() const {
    return module_ != nullptr;
  }
  /// Whether the module's type, when it was added, had forward(Tensor).
  bool has_tensor_forward() const {
    return forward_ != nullptr;
  }
  /// The module's forward(x) with its forward hooks (throws if it has no
  /// forward(x)).
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const {
    return forward(x);
  }
  /// The module as T (nn::LinearImpl gives a shared_ptr, nn::Linear a
  /// holder); throws naming both types when it is something else.
  template <class T>
  auto as() const {
    return detail::module_cast<T>(module_, "AnyModule");
  }

 private:
  std::shared_ptr<Module> module_;
  Tensor (*forward_)(Module&, const Tensor&) = nullptr;
};

}  // namespace nn
}  // namespace voxgrad

VOXGRAD_PUBLIC_END
