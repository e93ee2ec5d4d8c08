#pragma once
// nn::utils::ExponentialMovingAverage: an exponential moving average of a
// model's parameters (and optionally buffers), the "EMA model" diffusion
// and GAN training sample from (torch.optim.swa_utils.AveragedModel with an
// EMA avg_fn; diffusers' EMAModel).
//
// ```cpp
// nn::utils::ExponentialMovingAverage ema(
//     model, nn::utils::ExponentialMovingAverageOptions(0.999).warmup(true));
// for (...) {
//   loss.backward();
//   opt.step();
//   ema->update(model);             // one fused pass over every parameter
// }
// {
//   auto averaged = ema->swap(model);  // the model holds the averages...
//   sample(model);
// }                                    // ...and its trained values again
// voxgrad::save("ema.json", ema);    // or register it as a child of a
//                                    // module that is saved with the model
// ```
//
// NOTE [ EMA state ]
// ~~~~~~~~~~~~~~~~~~
// The average is itself an nn::Module, so checkpoints, state_dict(),
// load_state_dict() and to(dtype) treat it as any other: its state is
// AveragedModel's layout, "module.<name>" for each averaged tensor of the
// model (buffers, as they are not trained) and "n_averaged", the int64
// count of updates (which the warm-up reads). A run resumed from a
// checkpoint holding the model, the optimizer and the average continues
// bit-identically. Each update is, per element and in the tensor's dtype,
//   avg = avg - (1 - decay_n) * (avg - p),
//   decay_n = warmup ? min(decay, (1 + n) / (10 + n)) : decay,
// n the number of earlier updates (diffusers' EMAModel formula), computed by
// the fused multi-tensor kernel of the optimizers
// (voxgrad/core/kernels/optim_update.hpp): the same bits on every ISA and
// thread count. The average starts as a copy of the model's values, taken
// by the constructor. int64 buffers (counters) are copied, not averaged.

#include <string>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn::utils {

/// ExponentialMovingAverageOptions(0.999).warmup(true).use_buffers(true)
struct ExponentialMovingAverageOptions {
  ExponentialMovingAverageOptions(
      double decay)  // NOLINT: implicit, as libtorch
      : decay_(decay) {}
  /// The weight of the old average, in [0, 1].
  ExponentialMovingAverageOptions& decay(double d) {
    decay_ = d;
    return *this;
  }
  /// Use min(decay, (1 + n) / (10 + n)) at update n (default false), so
  /// early averages forget the initial weights quickly.
  ExponentialMovingAverageOptions& warmup(bool on) {
    warmup_ = on;
    return *this;
  }
  /// Average the model's buffers too (AveragedModel's use_buffers; default
  /// false: buffers are neither averaged nor touched).
  ExponentialMovingAverageOptions& use_buffers(bool on) {
    use_buffers_ = on;
    return *this;
  }
  double decay() const {
    return decay_;
  }
  bool warmup() const {
    return warmup_;
  }
  bool use_buffers() const {
    return use_buffers_;
  }

 private:
  double decay_;
  bool warmup_ = false;
  bool use_buffers_ = false;
};

/// Puts averages into a model for a scope (see ExponentialMovingAverage::
/// swap), and the model's own values back when it ends. Exact: values are
/// copied, never recomputed.
class AverageSwap {
 public:
  AverageSwap(AverageSwap&& other) noexcept
      : pairs_(std::exchange(other.pairs_, {})) {}
  AverageSwap& operator=(AverageSwap&&) = delete;
  AverageSwap(const AverageSwap&) = delete;
  AverageSwap& operator=(const AverageSwap&) = delete;
  ~AverageSwap();

 private:
  friend class ExponentialMovingAverageImpl;
  /// (model tensor, average): swapped now and again on destruction.
  explicit AverageSwap(std::vector<std::pair<Tensor, Tensor>> pairs);
  std::vector<std::pair<Tensor, Tensor>> pairs_;
};

/// The average of `model`'s parameters (NOTE [ EMA state ]). Every method
/// that takes the model checks it has exactly the tracked tensors (names,
/// shapes and dtypes) and names the first difference otherwise.
class ExponentialMovingAverageImpl : public Module {
 public:
  ExponentialMovingAverageImpl(
      const Module& model, const ExponentialMovingAverageOptions& options);

  /// One step of the average towards the model's current values.
  void update(const Module& model);
  /// The decay update number n uses (n = num_updates() for the next one).
  double decay_at(int64_t n) const;
  /// Updates done so far (the "n_averaged" buffer).
  int64_t num_updates() const;
  /// Writes the averages into the model's tensors (no autograd record).
  void copy_to(Module& model) const;
  /// The model holds the averages until the returned guard is destroyed,
  /// then its own values again; meanwhile this object holds the model's
  /// values (do not update() or save it then).
  [[nodiscard]] AverageSwap swap(Module& model);
  /// The average of the model's tensor `name` ("enc.0.weight").
  Tensor average(const std::string& name) const;
  /// The model's tensor names it tracks, in the model's order.
  std::vector<std::string> tracked_names() const;

  const ExponentialMovingAverageOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  /// The model's tensors matched, in order, with averages_; checks names,
  /// shapes and dtypes both ways.
  TensorList match(const Module& model, const char* op) const;

  ExponentialMovingAverageOptions options_;
  NamedTensors averages_;  // (the model's name, the average buffer)
  Tensor n_averaged_;
};
VOXGRAD_MODULE(ExponentialMovingAverage);

}  // namespace voxgrad::nn::utils

VOXGRAD_PUBLIC_END
