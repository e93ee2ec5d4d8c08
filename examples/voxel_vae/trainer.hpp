#pragma once
// The voxel VAE's training state and its one-step update, kept apart from
// the loop, the printing and the pictures so that other drivers (the MPI
// data-parallel run of issue 7, tests) reuse them unchanged.
//
// Everything a step depends on is in the state and in the checkpoint:
// model, Adam moments, lr scheduler, the noise generator's (seed, offset),
// the sampler's (epoch, cursor), the step and the loss history. Kernels are
// deterministic for any thread count, so a resumed run repeats the
// uninterrupted one bit for bit.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "model.hpp"
#include "prefetch.hpp"
#include "sampler.hpp"
#include "voxel_dataset.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"
#include "voxgrad/optim/optimizer.hpp"

namespace voxgrad::examples {

/// How this process takes part in data-parallel training. The defaults are
/// a single process. Every rank draws the same global batch and noise and
/// keeps its shard (see sampler.hpp), so W ranks x B/W reproduce 1 x B.
struct DataParallel {
  int rank = 0;
  int world = 1;
  /// Averages every parameter's .grad() over the ranks; called between
  /// backward and the optimizer step. Unset for one process.
  std::function<void(nn::Module&)> average_gradients;
  /// Averages values over the ranks in place (the logged losses).
  std::function<void(std::vector<double>&)> average_values;
  bool is_main() const {
    return rank == 0;
  }
};

struct StepStats {
  int64_t step = 0;  // 1-based: the step just taken
  double loss = 0, rec = 0, kl = 0, lr = 0;
};

struct TrainHistory {
  std::vector<StepStats> steps;
  std::vector<std::pair<int64_t, double>> iou;  // (step, held-out IoU)
};

class VaeTrainer {
 public:
  /// A fresh run: model initialised from config.seed, step 0.
  explicit VaeTrainer(const VaeConfig& config, DataParallel dp = {});

  /// One optimisation step on the next batch; appends to history().
  StepStats train_step();

  int64_t step() const {
    return step_;
  }
  const VaeConfig& config() const {
    return config_;
  }
  /// Cadence settings may change on resume (see vae_settings).
  void set_cadence(const VaeConfig& c);
  VoxelVAE& model() {
    return *model_;
  }
  const VoxelDataset& data() const {
    return data_;
  }
  const TrainHistory& history() const {
    return history_;
  }
  void record_iou(int64_t step, double iou) {
    history_.iou.emplace_back(step, iou);
  }
  const DataParallel& data_parallel() const {
    return dp_;
  }

  /// Writes model, optimizer and the rest of the state atomically.
  void save_checkpoint(const std::string& path) const;
  /// Restores a checkpoint of this configuration; throws voxgrad::Error
  /// naming the path and the problem.
  void load_checkpoint(const std::string& path);
  /// The configuration stored in a checkpoint (reads and verifies the
  /// whole file, so a damaged one is reported here, before anything else).
  static VaeConfig peek_config(const std::string& path);

 private:
  VaeConfig config_;
  DataParallel dp_;
  VoxelDataset data_;
  BatchPrefetcher prefetch_{data_};  // after data_: it uses it
  std::shared_ptr<VoxelVAE> model_;
  std::unique_ptr<optim::Optimizer> opt_;
  std::unique_ptr<optim::LRScheduler> sched_;
  EpochSampler sampler_;
  Generator noise_;
  Generator augment_;  // draws of the training augmentations
  int64_t step_ = 0;
  TrainHistory history_;
};

}  // namespace voxgrad::examples
