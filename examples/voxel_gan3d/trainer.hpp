#pragma once
// Settings, state and one training iteration of 3D-GAN (model.hpp):
//   D: binary cross-entropy on a real and a generated batch, and an Adam
//      step only while D's accuracy on that batch is <= d_threshold (0.8 in
//      the paper: "we only update the discriminator if its accuracy in the
//      last batch is not higher than 80%"), so it never overpowers G;
//   G: the non-saturating loss -log D(G(z)) on a fresh batch of z.
// z ~ U(0, 1)^200 as in the authors' release. Adam(beta1 0.5), G lr 0.0025,
// D lr 1e-5, batch 100, all as the paper. Everything is checkpointed.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "model.hpp"
#include "sampler.hpp"
#include "settings.hpp"
#include "voxel_dataset.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/optim/adam.hpp"

namespace voxgrad::examples {

struct Gan3dConfig {
  Gan3dArch arch;
  DataSource source;
  int64_t data_seed = 1;
  int64_t train_size = 20000;  // procedural data only
  int64_t test_size = 256;
  int64_t steps = 2000;  // iterations (one G step each)
  int64_t batch = 100;
  double g_lr = 0.0025;
  double d_lr = 1e-5;
  double beta1 = 0.5;
  double d_threshold = 0.8;
  std::string z_dist = "uniform";  // uniform U(0,1) | normal N(0, 0.33^2)
  int64_t seed = 0;
  int64_t ckpt_every = 200;
  int64_t log_every = 10;
  int64_t eval_every = 500;
  int64_t eval_samples = 32;
  int64_t eval_points = 1024;
};

/// The settings as flags / JSON / resume checks (see settings.hpp).
const Settings<Gan3dConfig>& gan3d_settings();

struct Gan3dStats {
  int64_t step = 0;
  double d_loss = 0, g_loss = 0;
  double d_accuracy = 0;  // on the batch, before any D update
  bool d_updated = false;
};

class Gan3dTrainer {
 public:
  explicit Gan3dTrainer(const Gan3dConfig& config, std::ostream* log = nullptr);
  Gan3dStats train_step();
  /// `n` latents drawn from the run's z distribution with `gen`.
  Tensor latents(int64_t n, Generator& gen) const;
  int64_t step() const {
    return step_;
  }
  const Gan3dConfig& config() const {
    return config_;
  }
  void set_cadence(const Gan3dConfig& c) {
    config_.ckpt_every = c.ckpt_every;
    config_.log_every = c.log_every;
    config_.eval_every = c.eval_every;
    config_.source.cache = c.source.cache;
  }
  Gan3d& model() {
    return *model_;
  }
  const VoxelDataset& data() const {
    return data_;
  }
  const std::vector<Gan3dStats>& history() const {
    return history_;
  }
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);
  static Gan3dConfig peek_config(const std::string& path);

 private:
  Gan3dConfig config_;
  VoxelDataset data_;
  std::shared_ptr<Gan3d> model_;
  std::unique_ptr<optim::Adam> opt_;  // group 0: G, group 1: D
  EpochSampler sampler_;
  Generator noise_;
  int64_t step_ = 0;
  std::vector<Gan3dStats> history_;
};

}  // namespace voxgrad::examples
