#pragma once
// Settings, state and one training step of voxel_diffusion:
//   x0 = 2 v - 1 for occupancy v in {0, 1};  t ~ U{0, ..., T-1};
//   eps ~ N(0, I);  x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps;
//   loss = || eps - eps_theta(x_t, t) ||^2 (mean)  -- DDPM's L_simple;
//   or, with --prediction v, the network predicts the velocity
//   v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0 (Salimans & Ho 2022) and the
//   loss is || v - v_theta ||^2; the samplers take the eps it implies;
// Adam with a linear lr warm-up, gradient clipping at norm 1 (DDPM's), and
// an exponential moving average of the weights (decay 0.999 by default,
// with the warm-up min(decay, (1 + n) / (10 + n)) of common diffusion
// code, nn::utils::ExponentialMovingAverage) that the samples are drawn
// from.
//
// Everything a step depends on is in the checkpoint: the network and its
// EMA copy (one module, "net.*" and "ema.*"), Adam's moments, the lr
// scheduler, the sampler's position, the noise generator and the history.
// Kernels are deterministic for any
// thread count, so a resumed run repeats the uninterrupted one bit for bit.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "prefetch.hpp"
#include "sampler.hpp"
#include "sampling.hpp"
#include "schedule.hpp"
#include "settings.hpp"
#include "unet.hpp"
#include "voxel_dataset.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/utils/ema.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"

namespace voxgrad::examples {

struct DiffusionConfig {
  UNetArch arch;
  std::string mults = "1,2,2";  // arch.mults as the flag gives it
  int64_t conditional = 0;      // 1: class-conditional (labels of the data)
  DataSource source;
  int64_t data_seed = 1;
  int64_t train_size = 20000;  // procedural data only
  int64_t test_size = 256;
  int64_t timesteps = 1000;  // T
  std::string schedule = "linear";
  std::string prediction = "epsilon";  // epsilon | v (what the net outputs)
  int64_t steps = 3000;
  int64_t batch = 16;
  double lr = 1e-3;
  int64_t warmup = 200;  // steps of linear lr warm-up
  double grad_clip = 1.0;
  double ema_decay = 0.999;
  std::string ema_warmup = "on";
  int64_t seed = 0;
  // Cadence: may change when resuming.
  int64_t ckpt_every = 250;
  int64_t log_every = 25;
  int64_t eval_every = 1000;
  int64_t eval_samples = 32;
  int64_t eval_points = 1024;
};

/// The settings as flags / JSON / resume checks (see settings.hpp); the
/// Configs it reads or merges have arch.mults filled (finish_config).
const Settings<DiffusionConfig>& diffusion_settings();
/// Fills arch.mults from `mults` (and checks it); call after parsing.
void finish_config(DiffusionConfig& config);

struct DiffusionStats {
  int64_t step = 0;  // 1-based
  double loss = 0, lr = 0, grad_norm = 0;
};

/// How samples are drawn: DDPM's T ancestral steps or DDIM's `steps`.
struct SamplerSettings {
  std::string sampler = "ddim";  // ddim | ddpm
  int64_t steps = 50;
  double eta = 0;
};

/// The trained network and the moving average of its weights
/// (nn::utils::ExponentialMovingAverage: "ema.module.<name>" and
/// "ema.n_averaged"), under one module so that one checkpoint holds both.
class DiffusionModel : public nn::Module {
 public:
  DiffusionModel(
      const UNetArch& arch,
      const nn::utils::ExponentialMovingAverageOptions& ema_options);
  std::string name() const override {
    return "DiffusionModel";
  }
  UNet3d net = nullptr;
  nn::utils::ExponentialMovingAverage ema = nullptr;
};

class DiffusionTrainer {
 public:
  explicit DiffusionTrainer(
      const DiffusionConfig& config, std::ostream* log = nullptr);
  DiffusionStats train_step();

  /// `n` samples (N, 1, R, R, R) in [-1, 1] from the network holding the
  /// EMA weights (eval mode, no gradient; its own weights are back after);
  /// labels i mod classes for a conditional network.
  Tensor sample(
      int64_t n,
      const SamplerSettings& how,
      Generator& gen,
      const SamplingCallback& callback = {});

  int64_t step() const {
    return step_;
  }
  const DiffusionConfig& config() const {
    return config_;
  }
  void set_cadence(const DiffusionConfig& c);
  DiffusionModel& model() {
    return *model_;
  }
  const NoiseSchedule& schedule() const {
    return schedule_;
  }
  const VoxelDataset& data() const {
    return data_;
  }
  int64_t num_classes() const;
  const std::vector<DiffusionStats>& history() const {
    return history_;
  }
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);
  static DiffusionConfig peek_config(const std::string& path);

 private:
  DiffusionConfig config_;
  VoxelDataset data_;
  BatchPrefetcher prefetch_{data_};  // after data_: it uses it
  NoiseSchedule schedule_;
  std::shared_ptr<DiffusionModel> model_;
  std::unique_ptr<optim::Adam> opt_;
  std::unique_ptr<optim::LRScheduler> sched_;
  EpochSampler sampler_;
  Generator noise_;
  int64_t step_ = 0;
  std::vector<DiffusionStats> history_;
};

}  // namespace voxgrad::examples
