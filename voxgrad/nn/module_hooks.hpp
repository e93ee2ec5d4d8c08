#pragma once
// Forward hooks of nn::Module: PyTorch's register_forward_pre_hook /
// register_forward_hook, and the handle that removes one.
//
// NOTE [ Forward hooks ]
// ~~~~~~~~~~~~~~~~~~~~~~
// A module's forward is not virtual and takes whatever arguments its class
// declares, so hooks run where a module is *called*: through its handle
// (`fc(x)`, `fc.forward(x)`), or as a child of Sequential / ModuleList /
// AnyModule. `fc->forward(x)` (or `impl->forward(x)` on the plain route) is
// the bare forward and runs no hook, as `m.forward(x)` in PyTorch.
//
// What a hook sees is the call's Tensor arguments, in order (arguments of
// other types are passed to forward untouched and not shown), and the
// forward's result when it is a Tensor, a std::tuple of Tensors or a
// std::pair of two (other results are returned untouched and hooks see an
// empty list):
// ```text
//   pre-hook   (Module& m, const TensorList& inputs)
//                -> std::optional<TensorList>    replacement inputs
//   hook       (Module& m, const TensorList& inputs, const TensorList& outputs)
//                -> std::optional<TensorList>    replacement outputs
// ```
// A hook may return a TensorList (it converts); std::nullopt, or a hook
// returning void, keeps what it was given; a replacement must have as many
// tensors as it replaces (the argument and result types are fixed at
// compile time). Each hook sees the replacements of the hooks before it,
// and forward hooks see the inputs forward received. PyTorch's hooks see
// every argument and result (any Python object) and may change their
// number; here a hook sees Tensors only, one for one.
//
// Hooks run in registration order. As in PyTorch, a call runs the hooks
// registered when it started: a hook added during a call runs from the next
// call on, and one removed during a call still runs in that call (removing
// itself is safe). An exception from a hook (or from forward) leaves the
// call; the module and its hooks are unchanged by it.
//
// Not done (PyTorch has them): global hooks (register_module_forward_hook),
// keyword arguments (with_kwargs), prepend=, always_call=, full backward
// hooks, and hooks on arguments that are not Tensors.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/core/profiler.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

class Module;

/// (module, tensor inputs) -> replacement inputs, or std::nullopt.
using ForwardPreHook = std::function<std::optional<TensorList>(
    Module& module, const TensorList& inputs)>;
/// (module, tensor inputs, tensor outputs) -> replacement outputs, or
/// std::nullopt.
using ForwardHook = std::function<std::optional<TensorList>(
    Module& module, const TensorList& inputs, const TensorList& outputs)>;

}  // namespace voxgrad::nn

namespace voxgrad::detail {
/// One module's hooks. The module owns it; handles refer to it weakly, so a
/// handle may outlive its module.
struct ForwardHookTable {
  template <class F>
  struct Entry {
    uint64_t id;
    std::shared_ptr<const F> fn;  // shared with the calls running it
  };
  std::vector<Entry<nn::ForwardPreHook>> pre;
  std::vector<Entry<nn::ForwardHook>> post;
  uint64_t next_id = 1;

  bool empty() const {
    return pre.empty() && post.empty();
  }
  bool contains(uint64_t id) const;
  void remove(uint64_t id);
};
}  // namespace voxgrad::detail

namespace voxgrad::nn {

/// Removes the hook it was returned for, as torch.utils.hooks.RemovableHandle:
/// remove() is idempotent, does nothing once the module is gone, and copies
/// refer to the same hook. Dropping a handle keeps the hook.
/// ```cpp
/// auto h = model->register_forward_hook(print_shapes);
/// model(x);     // prints the shapes
/// h.remove();
/// model(x);     // prints nothing
/// ```
class RemovableHandle {
 public:
  /// Refers to no hook.
  RemovableHandle() = default;
  /// Unregisters the hook (idempotent).
  void remove();
  /// Whether the hook is still registered on a live module.
  bool active() const;

 private:
  friend class Module;
  RemovableHandle(std::weak_ptr<detail::ForwardHookTable> table, uint64_t id)
      : table_(std::move(table)), id_(id) {}
  std::weak_ptr<detail::ForwardHookTable> table_;
  uint64_t id_ = 0;
};

}  // namespace voxgrad::nn

namespace voxgrad::detail {

// ---- the call of a module (ModuleHolder::operator(), AnyModule::forward)

/// How hooks see a forward's result R: as a list of tensors they may
/// replace one for one (Tensor, tuple or pair of Tensors), or not at all.
template <class R>
struct hook_view {
  static constexpr bool visible = false;
};
template <>
struct hook_view<Tensor> {
  static constexpr bool visible = true;
  static TensorList to_list(const Tensor& t) {
    return {t};
  }
  static Tensor from_list(TensorList& list) {
    return std::move(list[0]);
  }
};
template <class... Ts>
requires(std::is_same_v<Ts, Tensor>&&...) struct hook_view<std::tuple<Ts...>> {
  static constexpr bool visible = true;
  static TensorList to_list(const std::tuple<Ts...>& t) {
    return std::apply([](const auto&... x) { return TensorList{x...}; }, t);
  }
  static std::tuple<Ts...> from_list(TensorList& list) {
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return std::tuple<Ts...>(std::move(list[I])...);
    }
    (std::index_sequence_for<Ts...>{});
  }
};
template <>
struct hook_view<std::pair<Tensor, Tensor>> {
  static constexpr bool visible = true;
  static TensorList to_list(const std::pair<Tensor, Tensor>& p) {
    return {p.first, p.second};
  }
  static std::pair<Tensor, Tensor> from_list(TensorList& list) {
    return {std::move(list[0]), std::move(list[1])};
  }
};

template <class M, class... Args>
using forward_result_t =
    decltype(std::declval<M&>().forward(std::declval<Args>()...));
/// What calling the module returns: forward's result, by value when hooks
/// can see it.
template <class R>
using called_result_t = std::conditional_t<
    hook_view<std::remove_cvref_t<R>>::visible,
    std::remove_cvref_t<R>,
    R>;

/// For each argument, its index among the call's Tensor arguments, or -1.
template <class... Args>
constexpr std::array<int, sizeof...(Args)> tensor_slots() {
  std::array<int, sizeof...(Args)> out{};
  [[maybe_unused]] int k = 0;
  [[maybe_unused]] size_t i = 0;
  ((out[i++] = std::is_same_v<std::remove_cvref_t<Args>, Tensor> ? k++ : -1),
   ...);
  return out;
}
template <class... Args>
inline constexpr std::array<int, sizeof...(Args)> kTensorSlots =
    tensor_slots<Args...>();

/// Argument A of the call as forward receives it: itself, or the (possibly
/// replaced) tensor in `inputs`.
template <class A, int Slot, class Ref>
decltype(auto) hooked_argument(
    [[maybe_unused]] Ref& ref, [[maybe_unused]] TensorList& inputs) {
  if constexpr (Slot < 0)
    return std::forward<A>(ref);
  else if constexpr (std::is_lvalue_reference_v<A>)
    return static_cast<A>(inputs[static_cast<size_t>(Slot)]);
  else  // an rvalue: forward gets a copy of the handle
    return Tensor(inputs[static_cast<size_t>(Slot)]);
}

/// Calls m.forward(args...) with m's hooks around it (NOTE [ Forward hooks ]
/// in voxgrad/nn/module_hooks.hpp). Without hooks, only the check.
template <class M, class... Args>
called_result_t<forward_result_t<M, Args...>> call_forward(
    M& m, Args&&... args) {
  using R = forward_result_t<M, Args...>;
  using View = hook_view<std::remove_cvref_t<R>>;
  // A module event for voxgrad::profiler while a session records (nested
  // calls join their names with '.'); one relaxed load otherwise.
  std::optional<profiler::ModuleScope> profiled;
  if (profiler::active())
    profiled.emplace(m.name());
  if (!m.has_forward_hooks())
    return m.forward(std::forward<Args>(args)...);
  TensorList inputs;
  (
      [&](const auto& a) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(a)>, Tensor>)
          inputs.push_back(a);
      }(args),
      ...);
  inputs = m.run_forward_pre_hooks(std::move(inputs));
  [[maybe_unused]] auto refs =
      std::forward_as_tuple(std::forward<Args>(args)...);
  auto call = [&]<size_t... I>(std::index_sequence<I...>)->R {
    return m.forward(hooked_argument<
                     std::tuple_element_t<I, std::tuple<Args...>>,
                     kTensorSlots<Args...>[I]>(std::get<I>(refs), inputs)...);
  };
  const auto all = std::index_sequence_for<Args...>{};
  if constexpr (std::is_void_v<R>) {
    call(all);
    m.run_forward_hooks(inputs, {});
  } else if constexpr (View::visible) {
    TensorList out = m.run_forward_hooks(inputs, View::to_list(call(all)));
    return View::from_list(out);
  } else {
    R r = call(all);
    m.run_forward_hooks(inputs, {});
    return static_cast<R&&>(r);
  }
}

}  // namespace voxgrad::detail

VOXGRAD_PUBLIC_END
