#pragma once
// optim::Optimizer: parameter groups, lazily allocated per-parameter state,
// and a state dict keyed by parameter *name*, in PyTorch 1.13's manner.
//
// ```cpp
// optim::Adam opt(model.parameters(), optim::AdamOptions(1e-3));
// for (int step = 0; step < steps; ++step) {
//   opt.zero_grad();
//   loss(model).backward();
//   opt.step();
// }
// ```
//
// Each group holds its own options (a copy of the optimizer's defaults unless
// the group brings its own). State is created on a parameter's first step();
// parameters whose grad is undefined are skipped. Updates run under
// NoGradGuard and write into the parameter's own storage, so the handles a
// module keeps as members stay valid.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// JSON types are only named here (options' to_json/from_json): the full
// nlohmann/json.hpp (~100k lines) stays out of every TU that includes
// <voxgrad/voxgrad.hpp>; code that builds or reads JSON values includes it.
#include <nlohmann/json_fwd.hpp>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::optim {

/// Tensors by name (the same type as nn::NamedTensors).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Hyper-parameters of one parameter group. Concrete options (SGDOptions,
/// AdamOptions, AdamWOptions) add their own fields with chained setters.
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  /// Every broken rule, each naming the option, its value and the rule
  /// ("lr must be >= 0 (got -0.1)"); empty when the options are valid.
  virtual std::vector<std::string> problems() const = 0;
  /// The options as PyTorch's param_group keys: {"lr": 0.1, "momentum": 0}.
  virtual nlohmann::json to_json() const = 0;
  /// Reads exactly the keys to_json() writes. Returns the problems (missing,
  /// unexpected or mistyped keys, broken rules); changes *this only when
  /// there are none.
  virtual std::vector<std::string> from_json(const nlohmann::json& j) = 0;

  /// Throws voxgrad::Error listing problems(), prefixed by `where`.
  void validate(const std::string& where) const;
};

/// A list of parameters with, optionally, options of their own.
/// ```cpp
/// optim::SGD opt(
///     {optim::ParamGroup(enc), optim::ParamGroup(dec, optim::SGDOptions(0.01))},
///     optim::SGDOptions(0.1));
/// ```
class ParamGroup {
 public:
  /// Takes the optimizer's default options.
  explicit ParamGroup(TensorList params);
  ParamGroup(TensorList params, const OptimizerOptions& options);
  ParamGroup(const ParamGroup& other);
  ParamGroup& operator=(const ParamGroup& other);
  ParamGroup(ParamGroup&&) = default;
  ParamGroup& operator=(ParamGroup&&) = default;
  ~ParamGroup() = default;

  const TensorList& params() const {
    return params_;
  }
  bool has_options() const {
    return options_ != nullptr;
  }
  /// The group's options (throws if the group has none yet).
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options);

  /// The lr a scheduler started from (PyTorch's group['initial_lr']); set by
  /// the first LR scheduler attached to the optimizer.
  std::optional<double> initial_lr;

 private:
  TensorList params_;
  std::unique_ptr<OptimizerOptions> options_;
};

/// Per-parameter state: the number of updates applied and named buffers
/// ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq").
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;
};

/// An optimizer's state by parameter name, ready for a checkpoint. Defined in
/// voxgrad/optim/state_dict.hpp (its groups' options are JSON values).
struct OptimizerStateDict;

/// One parameter in a group's update: the contiguous tensor to update in
/// place, its contiguous gradient, and its state (step already counted).
struct ParamUpdate {
  Tensor param;
  Tensor grad;
  ParamState* state = nullptr;
};

/// Which buffers a stepped parameter's state holds.
struct BufferSpec {
  std::vector<std::string> required;
  std::vector<std::string> optional;
};

/// Base of SGD, Adam and AdamW (torch::optim::Optimizer): parameter groups,
/// per-parameter state, step(), zero_grad() and a state dict by name.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// "SGD", "Adam", "AdamW".
  virtual std::string name() const = 0;

  /// One update of every parameter that has a gradient. Everything is
  /// checked first (each gradient has its parameter's shape and dtype, no
  /// parameter is an expanded view): a step that throws changes nothing,
  /// not even the step counts. State kept from steps before Module::to()
  /// changed a parameter's dtype is converted to the new dtype first.
  void step();
  /// Clears the gradients: to undefined (set_to_none), or zeroes them.
  void zero_grad(bool set_to_none = true);

  // ---- learning rate and groups ---------------------------------------------
  /// The first group's learning rate.
  double lr() const;
  /// Sets the learning rate of every group.
  void set_lr(double lr);
  size_t num_param_groups() const {
    return groups_.size();
  }
  ParamGroup& param_group(size_t i);
  const ParamGroup& param_group(size_t i) const;
  const std::vector<ParamGroup>& param_groups() const {
    return groups_;
  }
  /// Adds a group (validated like the constructor's).
  void add_param_group(ParamGroup group);
  const OptimizerOptions& defaults() const {
    return *defaults_;
  }

  /// The state of `param` (nullptr before its first step).
  const ParamState* state(const Tensor& param) const;

  // ---- state dict
  // -------------------------------------------------------------
  /// The state keyed by name: `names` is usually model.named_parameters();
  /// with no names, parameters are called "0", "1", ... in group order (as
  /// PyTorch numbers them). Buffers are the live tensors, not copies.
  /// (#include <voxgrad/optim/state_dict.hpp> to use the result.)
  OptimizerStateDict state_dict(const NamedTensors& names = {}) const;
  /// Every reason `sd` cannot be loaded (empty if it can): wrong type,
  /// groups that list other parameters, invalid options, state for unknown
  /// parameters, missing/unexpected buffers, shape mismatches. State of
  /// another float dtype than its parameter is fine (it is cast on load).
  std::vector<std::string> check_state_dict(
      const OptimizerStateDict& sd, const NamedTensors& names = {}) const;
  /// Checks first (throws listing every problem, changing nothing), then
  /// replaces options and state; buffers are copied, cast to their
  /// parameter's dtype as PyTorch's load_state_dict does.
  void load_state_dict(
      const OptimizerStateDict& sd, const NamedTensors& names = {});

  /// The buffers a stepped parameter holds under `options`.
  virtual BufferSpec state_buffers(const OptimizerOptions& options) const = 0;

 protected:
  /// Derived constructors validate `defaults`, then call add_groups().
  explicit Optimizer(std::unique_ptr<OptimizerOptions> defaults);
  /// Adds the constructor's groups (at least one parameter in all).
  void add_groups(std::vector<ParamGroup> groups);

  /// Applies one update to `param` (contiguous) given its contiguous `grad`.
  /// Runs under NoGradGuard. `state.step` is already incremented.
  virtual void update(
      const OptimizerOptions& options,
      Tensor& param,
      const Tensor& grad,
      ParamState& state) = 0;

  /// Applies one update to every parameter of a group that has a gradient
  /// (under NoGradGuard). The default calls update() per parameter; SGD,
  /// Adam and AdamW override it with one fused pass over all of them.
  virtual void update_group(
      const OptimizerOptions& options, std::vector<ParamUpdate>& params);

  /// True when `options` is this optimizer's kind (SGDOptions for SGD, ...).
  virtual bool accepts(const OptimizerOptions& options) const = 0;

 private:
  void check_group(const ParamGroup& group, size_t index) const;
  /// Name of every parameter (by TensorImpl) under `names`.
  std::unordered_map<const TensorImpl*, std::string> param_names(
      const NamedTensors& names) const;

  std::vector<ParamGroup> groups_;
  std::unique_ptr<OptimizerOptions> defaults_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

namespace detail {
/// Shortest text that reads back as `v` ("0.1", "1e-08", "nan").
std::string format_double(double v);
/// Appends "<name> must be <rule> (got <value>)" when !ok.
void check_option(
    std::vector<std::string>& problems,
    bool ok,
    const char* name,
    double value,
    const char* rule);
/// Reads a finite number / bool `key` of `j` into `out`, or appends a
/// problem. Used by the options' from_json.
void read_number(
    const nlohmann::json& j,
    const char* key,
    double& out,
    std::vector<std::string>& problems);
void read_bool(
    const nlohmann::json& j,
    const char* key,
    bool& out,
    std::vector<std::string>& problems);
/// Appends a problem for each key of `j` not in `known`, and for `j` not
/// being an object.
void check_keys(
    const nlohmann::json& j,
    const std::vector<std::string>& known,
    std::vector<std::string>& problems);
/// "<head>: <n> problem(s)" then one indented line per problem. Shared by
/// the options' validation and load_state_dict.
std::string join_problems(
    const std::string& head, const std::vector<std::string>& problems);
/// A fresh contiguous copy (never shares storage with `t`).
Tensor copy_of(const Tensor& t);
}  // namespace detail

}  // namespace voxgrad::optim

VOXGRAD_PUBLIC_END
