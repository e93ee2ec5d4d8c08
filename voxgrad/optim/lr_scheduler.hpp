#pragma once
// Learning-rate schedulers with PyTorch 1.13's semantics: constructing one
// sets the epoch-0 learning rate; step() (after optimizer.step()) advances one
// epoch; the recursive ("chainable") formulas read each group's current lr.
//
// ```cpp
// optim::LinearLR warmup(opt, 0.1, 1.0, 5);  // or shared_ptrs, for chaining:
// auto w = std::make_shared<optim::LinearLR>(opt, 0.1, 1.0, 5);
// auto c = std::make_shared<optim::CosineAnnealingLR>(opt, 95);
// optim::SequentialLR sched(opt, {w, c}, {5});
// for (int epoch = 0; epoch < 100; ++epoch) {
//   train();
//   opt.step();
//   sched.step();
// }
// ```
//
// The first scheduler attached to an optimizer records each group's
// initial_lr; every scheduler's base_lrs are those initial lrs. A scheduler
// refers to its optimizer, which must outlive it. Its state (state_dict())
// is plain JSON: keep it with a checkpoint's metadata. This header only
// forward-declares nlohmann::json, so a file that calls state_dict() or
// load_state_dict() includes <nlohmann/json.hpp>. Unlike voxgrad::load()
// (whose CheckpointMetadata result a caller may ignore), state_dict()
// still returns the JSON value itself: it is called only for that value,
// which goes into metadata built with the full header anyway, and it is a
// virtual a custom scheduler overrides.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "voxgrad/export.hpp"
#include "voxgrad/optim/optimizer.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::optim {

/// Base of the learning-rate schedulers (torch.optim.lr_scheduler's
/// _LRScheduler): step() after optimizer.step() sets every group's lr.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// "StepLR", "CosineAnnealingLR", ...
  virtual std::string name() const = 0;
  /// Advances one epoch and sets every group's lr.
  virtual void step();
  /// Jumps to `epoch` with the closed-form lr (what SequentialLR uses at a
  /// milestone; PyTorch's deprecated step(epoch)).
  void step(int64_t epoch);
  /// The lr of each group after the latest step.
  const std::vector<double>& get_last_lr() const {
    return last_lr_;
  }
  int64_t last_epoch() const {
    return last_epoch_;
  }
  const std::vector<double>& base_lrs() const {
    return base_lrs_;
  }
  Optimizer& optimizer() const {
    return *opt_;
  }

  /// {"type", "last_epoch", "step_count", "base_lrs", "last_lr", and the
  /// scheduler's own settings}.
  virtual nlohmann::json state_dict() const;
  /// Restores a state_dict() of a scheduler of the same type and settings on
  /// an optimizer with as many groups. Checks everything first (throws
  /// voxgrad::Error listing every problem) and then sets the group lrs to
  /// last_lr.
  virtual void load_state_dict(const nlohmann::json& state);

 protected:
  explicit LRScheduler(Optimizer& opt);
  /// The constructor's closing step: epoch -1 -> 0. Derived constructors
  /// call it last (it calls get_lr()).
  void initial_step();
  /// The chainable lr of each group for last_epoch_ (reads current lrs).
  virtual std::vector<double> get_lr() const = 0;
  /// The lr of each group at last_epoch_ computed from base_lrs_ alone.
  virtual std::vector<double> closed_form_lr() const {
    return get_lr();
  }
  /// The scheduler's own settings, saved and compared on load.
  virtual nlohmann::json settings() const = 0;
  /// Problems of `state` beyond the common fields (empty when fine).
  virtual std::vector<std::string> check_extra(const nlohmann::json& state);
  /// Sets the extra state after check_extra() found no problem.
  virtual void load_extra(const nlohmann::json& state);

  std::vector<double> group_lrs() const;
  void apply(const std::vector<double>& lrs);
  /// Every problem of `state` (common fields, settings, check_extra()).
  std::vector<std::string> check_state(const nlohmann::json& state);
  /// Sets the state; check_state() found no problem.
  void apply_state(const nlohmann::json& state);

  Optimizer* opt_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  std::vector<double> last_lr_;

  friend class SequentialLR;
};

/// lr = base_lr * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);
  std::string name() const override {
    return "StepLR";
  }

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  nlohmann::json settings() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2,
/// in PyTorch's recursive form.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min = 0);
  std::string name() const override {
    return "CosineAnnealingLR";
  }

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  nlohmann::json settings() const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up: the lr factor goes from start_factor to end_factor over
/// total_iters epochs, then stays. start_factor must be in (0, 1] (PyTorch
/// 1.13 accepts 0, then divides by zero at epoch 1), end_factor in [0, 1].
class LinearLR : public LRScheduler {
 public:
  LinearLR(
      Optimizer& opt,
      double start_factor = 1.0 / 3,
      double end_factor = 1.0,
      int64_t total_iters = 5);
  std::string name() const override {
    return "LinearLR";
  }

 protected:
  std::vector<double> get_lr() const override;
  std::vector<double> closed_form_lr() const override;
  nlohmann::json settings() const override;

 private:
  double start_factor_;
  double end_factor_;
  int64_t total_iters_;
};

/// Runs schedulers one after another: schedulers[i] from milestones[i-1] on
/// (restarted at its epoch 0 there). All must drive the same optimizer.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(
      Optimizer& opt,
      std::vector<std::shared_ptr<LRScheduler>> schedulers,
      std::vector<int64_t> milestones);
  std::string name() const override {
    return "SequentialLR";
  }
  void step() override;
  /// The common fields plus "schedulers": each child's state_dict().
  nlohmann::json state_dict() const override;

 protected:
  std::vector<double> get_lr() const override;
  nlohmann::json settings() const override;
  std::vector<std::string> check_extra(const nlohmann::json& state) override;
  void load_extra(const nlohmann::json& state) override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

}  // namespace voxgrad::optim

VOXGRAD_PUBLIC_END
