#pragma once
// nn::Module: named registration of parameters, buffers and submodules, in
// PyTorch's manner. Names are non-empty, contain no '.', and are unique within
// a module; insertion order is kept; nested names are dotted ("enc.0.weight").

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::nn {

/// Tensors by dotted name, in registration order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// What a non-strict load_state_dict could not match.
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The type name shown when printing ("Conv3d").
  virtual std::string name() const;
  /// The single-tensor forward most layers have. Modules with other inputs
  /// leave it undefined (calling it then throws, naming the module).
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) {
    return forward(x);
  }

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
  template <class M>
  std::shared_ptr<M> register_module(
      const std::string& name, std::shared_ptr<M> m) {
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
