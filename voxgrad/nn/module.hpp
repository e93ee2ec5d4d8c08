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

 protected:
  /// Registers a parameter (a leaf that requires grad) and returns the stored
  /// handle (shared with the module), to keep as a member:
  ///   weight_ = register_parameter("weight", w);
  Tensor register_parameter(
      const std::string& name, Tensor t, bool requires_grad = true);
  /// Registers state that is saved but not trained (running statistics).
  Tensor register_buffer(const std::string& name, Tensor t);
  /// Registers a child and returns it, to keep as a member:
  ///   conv_ = register_module("conv", nn::Conv3d(options));   // a handle
  ///   ptr_ = register_module("fc", std::make_shared<nn::LinearImpl>(2, 3));
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

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
