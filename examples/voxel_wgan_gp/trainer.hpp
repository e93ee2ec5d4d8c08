#pragma once
// Settings, state and one training step of the voxel WGAN-GP: n_critic
// critic updates on real shapes, generated shapes and the gradient penalty,
// then one generator update. Model, optimizer, noise generator, sampler,
// step and history all go into the checkpoint.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "model.hpp"
#include "prefetch.hpp"
#include "sampler.hpp"
#include "settings.hpp"
#include "voxel_dataset.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/optim/adam.hpp"

namespace voxgrad::examples {

struct GanConfig {
  GanArch arch;
  DataSource source;
  int64_t data_seed = 1;
  int64_t train_size = 20000;
  int64_t test_size = 256;  // held-out shapes (procedural), for the metrics
  int64_t eval_samples = 32;
  int64_t eval_points = 1024;
  int64_t steps = 1500;  // generator steps
  int64_t batch = 16;
  int64_t n_critic = 5;
  double lr = 1e-4;
  double lambda = 10;
  int64_t seed = 0;
  int64_t ckpt_every = 100;
  int64_t log_every = 10;
};

/// The settings as flags / JSON / resume checks (see settings.hpp).
const Settings<GanConfig>& wgan_settings();

struct GanStats {
  int64_t step = 0;
  double critic_loss = 0;  // E D(fake) - E D(real) + penalty, last critic step
  double wasserstein = 0;  // E D(real) - E D(fake): the critic's estimate
  double penalty = 0;
  double generator_loss = 0;  // -E D(G(z))
};

class GanTrainer {
 public:
  explicit GanTrainer(const GanConfig& config, std::ostream* log = nullptr);
  GanStats train_step();
  int64_t step() const {
    return step_;
  }
  const GanConfig& config() const {
    return config_;
  }
  void set_cadence(const GanConfig& c) {
    config_.ckpt_every = c.ckpt_every;
    config_.log_every = c.log_every;
    config_.source.cache = c.source.cache;
  }
  WganGp& model() {
    return *model_;
  }
  const VoxelDataset& data() const {
    return data_;
  }
  const std::vector<GanStats>& history() const {
    return history_;
  }
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);
  static GanConfig peek_config(const std::string& path);

 private:
  /// Throws naming `what` and the step when `value` is not finite.
  void check_finite(const char* what, double value) const;

  GanConfig config_;
  VoxelDataset data_;
  BatchPrefetcher prefetch_{data_};  // after data_: it uses it
  std::shared_ptr<WganGp> model_;
  std::unique_ptr<optim::Adam> opt_;
  EpochSampler sampler_;
  Generator noise_;
  int64_t step_ = 0;
  std::vector<GanStats> history_;
};

}  // namespace voxgrad::examples
