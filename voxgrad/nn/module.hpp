#pragma once
// nn::Module: named registration of parameters, buffers and submodules, in
// PyTorch's manner. Names are non-empty, contain no '.', and are unique within
// a module; insertion order is kept; nested names are dotted ("enc.0.weight").
//
// NOTE [ Writing a module ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// A module is two names, as in libtorch: the class `FooImpl`, derived from
// nn::Module, which owns the parameters and declares forward(); and `Foo`,
// its handle (a shared pointer to a FooImpl), made by VOXGRAD_MODULE(Foo).
// Calling the handle calls forward with whatever arguments forward takes;
// `->` reaches everything else. Every layer of voxgrad is written this way.
//
// ```cpp
// struct GeneratorImpl : nn::Module {
//   GeneratorImpl(int64_t latent, int64_t classes) {
//     fc = register_module("fc", nn::Linear(latent + classes, 64));
//     up = register_module(
//         "up", nn::ConvTranspose3d(
//                   nn::ConvTranspose3dOptions(1, 1, 4).stride(2).padding(1)));
//     scale = register_buffer("scale", ones({1}));
//   }
//   Tensor forward(const Tensor& z, const Tensor& label) {
//     const Tensor h = relu(fc(cat({z, label}, 1)));
//     return up(h.reshape({-1, 1, 4, 4, 4})) * scale;
//   }
//   nn::Linear fc;  // empty until assigned
//   nn::ConvTranspose3d up;
//   Tensor scale;
// };
// VOXGRAD_MODULE(Generator);
//
// Generator G(16, 10);
// Tensor y = G(randn({2, 16}), zeros({2, 10}));  // (2, 1, 8, 8, 8)
// ```
//
// The recipe:
// 1. `class FooImpl : public nn::Module` (a struct is fine) with a public
//    `forward`, any parameters, any return type. forward is not virtual and
//    is not declared in nn::Module, so nothing is hidden or overridden: no
//    `override`, no `using`, no operator().
// 2. In the constructor, register what the module owns and keep the
//    returned handles as members: `w_ = register_parameter("weight", t)`,
//    `register_buffer("running_mean", t)` (saved, not trained), and children
//    `conv_ = register_module("conv", nn::Conv3d(options))`.
// 3. `VOXGRAD_MODULE(Foo);` after the class, in the same namespace.
// 4. Layers of the library also take an options struct with chained setters
//    (`Conv3dOptions(1, 8, 3).stride(2)`), keep it in `options()`, return
//    parameters as `const Tensor& weight() const`, print their settings
//    with extra_repr(), and put the op itself in nn::functional.
// The printed type name is the class name without "Impl"; override name()
// to change it.
//
// Without the handle, the plain route works too: std::make_shared<FooImpl>,
// `std::shared_ptr<FooImpl>` members, `register_module("foo", ptr)`, and
// `ptr->forward(x)`. Containers (nn::Sequential) accept either.
// (`ptr->forward(x)` is the bare forward: it runs no forward hook, see
// NOTE [ Forward hooks ] in voxgrad/nn/module_hooks.hpp.)
//
// NOTE [ Reparametrised parameters ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// nn::utils::spectral_norm and weight_norm replace what a layer's forward
// reads as its weight by a tensor computed from other parameters before
// each call, as PyTorch does (`del module._parameters["weight"]`, new
// parameters and buffers, and `setattr(module, "weight", w)` from a forward
// pre-hook). A layer's forward reads its weight from a member, so the one
// thing a layer does to allow this is to register the parameter together
// with that member:
// ```cpp
// register_parameter("weight", weight_, empty({out, in}));
// ```
// The module then knows where forward reads "weight" from. reparametrize()
// takes the parameter out of parameters() and state_dict(), registers the
// reparametrisation's own tensors ("weight_orig", "weight_u", ...) and its
// pre-hook, and the hook sets the member (set_reparametrized) before each
// call; `m->weight()` returns what forward last read. remove_reparametrized()
// undoes it with a plain parameter again. Linear, Conv3d, ConvTranspose3d
// and Embedding bind weight and bias so.

#include <any>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module_holder.hpp"
#include "voxgrad/nn/module_hooks.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// Tensors by dotted name, in registration order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// What a non-strict load_state_dict could not match.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

/// Base of every layer (torch::nn::Module): registers parameters, buffers and
/// children by name, and gives named_parameters(), state_dict(), train() /
/// eval(), to(dtype). NOTE [ Writing a module ] above says how to write one.
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The type name shown when printing and in messages: the class name
  /// without namespace and without a trailing "Impl" ("Conv3d").
  virtual std::string name() const;

  // ---- traversal
  // -------------------------------------------------------------
  NamedTensors named_parameters(bool recurse = true) const;
  TensorList parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children()
      const;
  std::vector<std::shared_ptr<Module>> children() const;
  /// This module (named "") and every descendant, depth first.
  std::vector<std::pair<std::string, Module*>> named_modules();

  // ---- mode and housekeeping
  // ---------------------------------------------------
  /// Training mode for this module and its descendants (dropout, batch norm).
  virtual void train(bool on = true);
  void eval() {
    train(false);
  }
  bool is_training() const {
    return training_;
  }
  /// Clears every parameter's gradient (set_to_none, PyTorch 2's default), or
  /// zeroes it in place.
  void zero_grad(bool set_to_none = true);
  /// Calls fn on this module and every descendant, children first.
  void apply(const std::function<void(Module&)>& fn);
  /// Converts every parameter and buffer in place (handles stay valid).
  void to(Dtype dtype);

  // ---- state
  // ---------------------------------------------------------------------
  /// Parameters then buffers, by dotted name (the tensors themselves, not
  /// copies).
  NamedTensors state_dict() const;
  /// Copies values in after checking everything first, so a failed load
  /// changes nothing. Strict: any missing or unexpected key is an error.
  /// Shape or dtype mismatches are errors either way; all problems are
  /// reported together.
  LoadResult load_state_dict(const NamedTensors& state, bool strict = true);

  /// Total number of parameter elements.
  int64_t num_parameters() const;

  /// The module tree with parameter shapes and counts.
  friend std::ostream& operator<<(std::ostream& os, const Module& m);

  // ---- forward hooks: NOTE [ Forward hooks ] in voxgrad/nn/module_hooks.hpp
  /// Calls `hook(module, inputs)` before every call of this module; it may
  /// return replacement inputs (or return void to only look).
  /// ```cpp
  /// m->register_forward_pre_hook(
  ///     [](nn::Module&, const TensorList& in) { std::cout << in[0]; });
  /// ```
  template <class F>
  RemovableHandle register_forward_pre_hook(F&& hook) {
    using Fn = std::decay_t<F>;
    static_assert(
        std::is_invocable_v<Fn&, Module&, const TensorList&>,
        "a forward pre-hook is called as hook(nn::Module&, const "
        "TensorList& inputs)");
    if constexpr (std::is_void_v<
                      std::invoke_result_t<Fn&, Module&, const TensorList&>>) {
      return add_forward_pre_hook(
          [h = Fn(std::forward<F>(hook))](
              Module& m,
              const TensorList& in) mutable -> std::optional<TensorList> {
            h(m, in);
            return std::nullopt;
          });
    } else {
      return add_forward_pre_hook(ForwardPreHook(std::forward<F>(hook)));
    }
  }
  /// Calls `hook(module, inputs, outputs)` after every call of this module;
  /// it may return replacement outputs (or return void to only look).
  /// ```cpp
  /// auto h = m->register_forward_hook(
  ///     [](nn::Module&, const TensorList&, const TensorList& out) {
  ///       return TensorList{out[0] * 2.0};
  ///     });
  /// ```
  template <class F>
  RemovableHandle register_forward_hook(F&& hook) {
    using Fn = std::decay_t<F>;
    static_assert(
        std::is_invocable_v<Fn&, Module&, const TensorList&, const TensorList&>,
        "a forward hook is called as hook(nn::Module&, const TensorList& "
        "inputs, const TensorList& outputs)");
    if constexpr (std::is_void_v<std::invoke_result_t<
                      Fn&, Module&, const TensorList&, const TensorList&>>) {
      return add_forward_hook(
          [h = Fn(std::forward<F>(hook))](
              Module& m, const TensorList& in,
              const TensorList& out) mutable -> std::optional<TensorList> {
            h(m, in, out);
            return std::nullopt;
          });
    } else {
      return add_forward_hook(ForwardHook(std::forward<F>(hook)));
    }
  }
  bool has_forward_hooks() const {
    return hooks_ != nullptr && !hooks_->empty();
  }
  /// The pre-hooks in order over `inputs`; the call machinery's
  /// (detail::call_forward), not for users.
  TensorList run_forward_pre_hooks(TensorList inputs);
  /// The forward hooks in order over `outputs`; the call machinery's.
  TensorList run_forward_hooks(const TensorList& inputs, TensorList outputs);

  // ---- reparametrisation: NOTE [ Reparametrised parameters ] above
  /// What a reparametrisation keeps on the module for one parameter.
  struct Reparametrization {
    std::string kind;                // "spectral_norm", "weight_norm"
    std::vector<std::string> added;  // the parameters and buffers it added
    std::any state;                  // its settings, for its own code
    RemovableHandle hook;            // its forward pre-hook
  };
  /// The reparametrisation of `name`, or null.
  const Reparametrization* reparametrization(const std::string& name) const;
  /// Parameter `name` if `kind` (the caller, for messages) may
  /// reparametrise it: it is a parameter of this module, bound to the
  /// member forward reads, and not reparametrised already. Throws otherwise.
  Tensor reparametrizable(const std::string& name, const char* kind) const;
  /// Takes parameter `name` out of this module's parameters, registers
  /// `params` and `buffers` after the existing ones and `recompute` as a
  /// forward pre-hook, and sets the member to `value`. Everything is
  /// checked first (reparametrizable, the new names free); on error nothing
  /// changes.
  void reparametrize(
      const std::string& name,
      const std::string& kind,
      const NamedTensors& params,
      const NamedTensors& buffers,
      std::any state,
      ForwardPreHook recompute,
      const Tensor& value);
  /// Sets what forward reads as `name` (which must be reparametrised).
  void set_reparametrized(const std::string& name, const Tensor& value);
  /// Ends the reparametrisation `kind` of `name`: removes its hook and the
  /// tensors it added, and registers `param` as parameter `name` again
  /// (after the others, as PyTorch's setattr does), read by forward.
  void remove_reparametrized(
      const std::string& name, const std::string& kind, const Tensor& param);

 protected:
  /// Registers a parameter (a leaf that requires grad) and returns the stored
  /// handle (shared with the module), to keep as a member:
  /// ```cpp
  /// weight_ = register_parameter("weight", w);
  /// ```
  Tensor register_parameter(
      const std::string& name, Tensor t, bool requires_grad = true);
  /// The same, and binds `member`, the member this module's forward reads
  /// the parameter from, so that a reparametrisation can replace what it
  /// reads (NOTE [ Reparametrised parameters ]):
  /// ```cpp
  /// register_parameter("weight", weight_, empty({out, in}));
  /// ```
  void register_parameter(
      const std::string& name,
      Tensor& member,
      Tensor t,
      bool requires_grad = true);
  /// Registers state that is saved but not trained (running statistics).
  Tensor register_buffer(const std::string& name, Tensor t);
  /// Registers a child and returns it, to keep as a member:
  /// ```cpp
  /// conv_ = register_module("conv", nn::Conv3d(options));  // a handle
  /// ptr_ = register_module("fc", std::make_shared<nn::LinearImpl>(2, 3));
  /// ```
  template <module_holder H>
  std::decay_t<H> register_module(const std::string& name, H&& holder) {
    add_child(name, holder.ptr());
    return std::forward<H>(holder);
  }
  template <class M>
  std::shared_ptr<M> register_module(
      const std::string& name, std::shared_ptr<M> m) {
    static_assert(
        std::is_base_of_v<Module, M>,
        "register_module takes a module: a holder (nn::Linear) or a "
        "std::shared_ptr to a class derived from nn::Module");
    add_child(name, m);
    return m;
  }
  /// One line of settings shown after the name, e.g. "1, 16, kernel_size=...".
  virtual std::string extra_repr() const;

 private:
  void check_name(const std::string& name, const char* what) const;
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void print(std::ostream& os, int indent) const;
  RemovableHandle add_forward_pre_hook(ForwardPreHook hook);
  RemovableHandle add_forward_hook(ForwardHook hook);
  Tensor* member(const std::string& name) const;

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  /// Created by the first hook; handles refer to it weakly.
  std::shared_ptr<detail::ForwardHookTable> hooks_;
  /// Where forward reads each bound parameter (members of the derived
  /// class: a module is neither copied nor moved, so they stay put).
  std::vector<std::pair<std::string, Tensor*>> members_;
  std::vector<std::pair<std::string, Reparametrization>> reparams_;
};

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
