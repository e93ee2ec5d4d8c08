#pragma once
// nn::ModuleHolder<Impl> and VOXGRAD_MODULE(Name): the handle a module is
// used through, as libtorch's holders are. See NOTE [ Writing a module ] in
// voxgrad/nn/module.hpp for the recipe; this file is the machinery.
//
// A holder is a std::shared_ptr<Impl> with three conveniences: constructing
// it constructs the Impl (`nn::Conv3d conv(options)`), calling it calls the
// Impl's forward with any arguments (`G(z, label)`), and it converts to
// `Impl&` so it can be passed wherever a module is taken by reference
// (`voxgrad::save(path, model)`). Copies share the module.

#include <concepts>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module_hooks.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

namespace nn {
class Module;
}

namespace detail {

/// "voxgrad::nn::Conv3dImpl" for typeid(nn::Conv3dImpl).
std::string type_name(const std::type_info& type);
[[noreturn]] void throw_empty_holder(const std::type_info& impl);

template <class M, class... Args>
concept has_forward = requires(M& m, Args&&... args) {
  m.forward(std::forward<Args>(args)...);
};

template <class... T>
inline constexpr bool always_false = false;

}  // namespace detail

namespace nn {

/// Shared handle to a module of type Impl (a class derived from nn::Module).
/// Usually reached through a name made by VOXGRAD_MODULE(Name).
/// ```cpp
/// nn::Linear fc(4, 8);      // makes a LinearImpl(4, 8)
/// Tensor y = fc(x);         // fc->forward(x)
/// fc->weight();             // the LinearImpl's members
/// ```
template <class T>
class ModuleHolder {
 public:
  using Impl = T;

  /// Constructs a default Impl when it has a default constructor, otherwise
  /// the holder is empty (assign it before use: `conv_ = register_module(
  /// "conv", nn::Conv3d(options))`). Using an empty holder throws.
  ModuleHolder() {
    if constexpr (std::is_default_constructible_v<T>)
      impl_ = std::make_shared<T>();
  }
  /// An empty holder.
  ModuleHolder(std::nullptr_t) {
  }  // NOLINT: implicit, `nn::Linear fc = nullptr`
  /// Holds an existing module (shares it).
  ModuleHolder(std::shared_ptr<T> impl)  // NOLINT: implicit on purpose
      : impl_(std::move(impl)) {}
  /// Constructs the Impl from these arguments: nn::Conv3d(options).
  template <class Head, class... Tail>
  requires(
      !(sizeof...(Tail) == 0 &&
        (std::is_base_of_v<ModuleHolder, std::decay_t<Head>> ||
         std::is_convertible_v<Head, std::shared_ptr<T>>))) &&
      std::constructible_from<T, Head, Tail...> explicit ModuleHolder(
          Head&& head, Tail&&... tail)
      : impl_(std::make_shared<T>(
            std::forward<Head>(head), std::forward<Tail>(tail)...)) {}

  /// Calls the module's forward with these arguments, whatever they are,
  /// and its forward hooks around it (NOTE [ Forward hooks ]).
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    if constexpr (detail::has_forward<T, Args...>) {
      return detail::call_forward(*get(), std::forward<Args>(args)...);
    } else {
      static_assert(
          detail::always_false<T, Args...>,
          "voxgrad: calling a module runs its forward() with the call's "
          "arguments, and no public forward() of this module accepts them. "
          "The module (Impl) type and the argument types are the template "
          "arguments of the ModuleHolder<Impl>::operator()<Args...> named "
          "in this error; declare a public `forward` in that Impl class "
          "taking those arguments, or fix the call.");
    }
  }
  /// The same as operator().
  template <class... Args>
  decltype(auto) forward(Args&&... args) const {
    return (*this)(std::forward<Args>(args)...);
  }

  T* operator->() const {
    return get();
  }
  T& operator*() const {
    return *get();
  }
  /// The module, for code that takes `nn::Module&` (or `Impl&`).
  operator T&() const {  // NOLINT: implicit on purpose
    return *get();
  }
  /// The module (throws voxgrad::Error if the holder is empty).
  T* get() const {
    if (!impl_)
      detail::throw_empty_holder(typeid(T));
    return impl_.get();
  }
  /// The shared pointer itself (null if empty).
  const std::shared_ptr<T>& ptr() const {
    return impl_;
  }
  bool is_empty() const {
    return impl_ == nullptr;
  }
  explicit operator bool() const {
    return impl_ != nullptr;
  }

 private:
  std::shared_ptr<T> impl_;
};

/// True for nn::Linear, nn::Conv3d, ... and any VOXGRAD_MODULE name.
template <class H>
concept module_holder = requires {
  typename std::decay_t<H>::Impl;
}
&&std::
    is_base_of_v<ModuleHolder<typename std::decay_t<H>::Impl>, std::decay_t<H>>;

/// Prints the module tree (as printing the Impl does).
template <module_holder H>
std::ostream& operator<<(std::ostream& os, const H& holder) {
  return os << static_cast<const typename H::Impl&>(*holder);
}

}  // namespace nn
}  // namespace voxgrad

/// VOXGRAD_MODULE(Name) after `class NameImpl : public nn::Module {...};`
/// defines `Name`, the module's handle (an nn::ModuleHolder<NameImpl>).
#define VOXGRAD_MODULE(Name)                                     \
  class Name : public ::voxgrad::nn::ModuleHolder<Name##Impl> {  \
   public:                                                       \
    using ::voxgrad::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
  }

VOXGRAD_PUBLIC_END
