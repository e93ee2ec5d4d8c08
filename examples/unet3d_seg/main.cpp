// unet3d_seg: trains a small 3-D U-Net (max-pool down, transposed-conv up,
// skip connections by cat) to label every voxel of procedural scenes with
// the kind of solid it belongs to, by per-voxel cross-entropy over six
// classes, and reports per-class accuracy and IoU on held-out scenes.
//
//   build/bin/unet3d_seg --steps 400 --out unet_out
//   build/bin/unet3d_seg --resume unet_out/checkpoint.json --steps 800
//   VOXGRAD_PROFILE=1 build/bin/unet3d_seg --steps 20   # where time goes
//
// The last line on stdout is JSON, also written to metrics.json: {"mean_iou",
// "trivial_mean_iou", "loss_first", "loss_last", "steps", "seconds",
// "test": {per-class accuracy and IoU}}. --check makes the run fail unless
// the loss fell and the held-out mean IoU beats the trivial predictor (the
// most frequent training class everywhere). `unet3d_seg --help` lists every
// flag.

#include <algorithm>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "files.hpp"
#include "model.hpp"
#include "progress.hpp"
#include "resume_meta.hpp"
#include "sampler.hpp"
#include "scenes.hpp"
#include "segmentation_metrics.hpp"
#include "settings.hpp"
#include "step_profile.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/nn/cross_entropy.hpp"
#include "voxgrad/nn/functional.hpp"
#include "voxgrad/optim/adam.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {

constexpr const char* kFormat = "unet3d_seg-checkpoint";
constexpr int64_t kVersion = 1;

struct SegConfig {
  int64_t steps = 300, batch = 4, res = 32, width = 16, levels = 2;
  int64_t train_size = 512, test_size = 32, seed = 1, log_every = 25;
  double lr = 2e-3;
};

Settings<SegConfig> settings() {
  Settings<SegConfig> s;
  s.add_int(
      "steps", "optimizer steps in total", 1, 250000, true,
      [](SegConfig& c) -> int64_t& { return c.steps; });
  s.add_int(
      "batch", "scenes per step", 1, 4096, false,
      [](SegConfig& c) -> int64_t& { return c.batch; });
  s.add_int(
      "res", "grid resolution (a multiple of 2^levels)", 4, 256, false,
      [](SegConfig& c) -> int64_t& { return c.res; });
  s.add_int(
      "width", "channels of the U-Net's first level", 1, 1024, false,
      [](SegConfig& c) -> int64_t& { return c.width; });
  s.add_int(
      "levels", "max-poolings (and transposed convolutions)", 1, 6, false,
      [](SegConfig& c) -> int64_t& { return c.levels; });
  s.add_int(
      "train-size", "training scenes", 1, 100000000, false,
      [](SegConfig& c) -> int64_t& { return c.train_size; });
  s.add_int(
      "test-size", "held-out scenes", 1, 100000, false,
      [](SegConfig& c) -> int64_t& { return c.test_size; });
  s.add_int(
      "seed", "seed of the scenes, the initial weights and the order", 0,
      int64_t{1} << 40, false, [](SegConfig& c) -> int64_t& { return c.seed; });
  s.add_int(
      "log-every", "steps between progress lines", 1, 1000000, true,
      [](SegConfig& c) -> int64_t& { return c.log_every; });
  s.add_double(
      "lr", "Adam learning rate", 1e-6, 1.0, false,
      [](SegConfig& c) -> double& { return c.lr; });
  return s;
}

/// Model, optimizer, order of the scenes and the loss history: everything a
/// step depends on, all of it in the checkpoint (the kernels are
/// deterministic, so a resumed run repeats the uninterrupted one bit for
/// bit).
class Trainer {
 public:
  explicit Trainer(const SegConfig& c)
      : config_(c), sampler_(c.train_size, static_cast<uint64_t>(c.seed)) {
    VOXGRAD_CHECK(
        c.res % (int64_t{1} << c.levels) == 0, "--res ", c.res,
        " must be a multiple of 2^levels = ", int64_t{1} << c.levels,
        " (--levels ", c.levels, ")");
    manual_seed(static_cast<uint64_t>(c.seed));
    UNetArch arch;
    arch.classes = kSegClasses;
    arch.width = c.width;
    arch.levels = c.levels;
    model_ = UNet3d(arch);
    opt_ = std::make_unique<optim::Adam>(
        model_->parameters(), optim::AdamOptions(c.lr));
  }

  double step() {
    const SegBatch b = make_scenes(
        static_cast<uint64_t>(config_.seed), Split::Train,
        sampler_.next_batch(config_.batch), config_.res);
    opt_->zero_grad();
    const Tensor loss = F::cross_entropy(model_(b.occupancy), b.labels);
    loss.backward();
    opt_->step();
    ++step_;
    losses_.push_back(loss.item());
    return losses_.back();
  }

  /// argmax of the logits of `scenes`, batch by batch, without a graph.
  Tensor predict(const Tensor& occupancy) {
    NoGradGuard no_grad;
    TensorList parts;
    for (int64_t i = 0; i < occupancy.size(0); i += config_.batch) {
      const int64_t n = std::min(config_.batch, occupancy.size(0) - i);
      parts.push_back(argmax(model_(occupancy.slice(0, i, i + n)), 1));
    }
    return cat(parts, 0);
  }

  void save_checkpoint(const std::string& path) const {
    nlohmann::json losses = losses_;
    const nlohmann::json meta = {
        {"format", kFormat},
        {"version", kVersion},
        {"config", settings().to_json(config_)},
        {"step", step_},
        {"sampler", sampler_.state()},
        {"losses", losses}};
    save(path, *model_, opt_.get(), meta);
  }

  static SegConfig peek_config(const std::string& path) {
    return saved_config(settings(), path, kFormat, kVersion);
  }

  void load_checkpoint(const std::string& path) {
    const nlohmann::json meta = load(path, *model_, opt_.get());
    restoring(path, [&] {
      const int64_t step = meta_step(meta, config_.steps);
      const nlohmann::json& l = meta_field(meta, "losses");
      VOXGRAD_CHECK(
          l.is_array() && static_cast<int64_t>(l.size()) == step,
          "\"losses\" must be an array of ", step, " numbers");
      std::vector<double> losses;
      for (size_t i = 0; i < l.size(); ++i)
        losses.push_back(meta_number(l, i, "losses"));
      sampler_.load_state(meta_field(meta, "sampler"));
      step_ = step;
      losses_ = std::move(losses);
    });
  }

  int64_t steps_done() const {
    return step_;
  }
  const std::vector<double>& losses() const {
    return losses_;
  }
  const UNet3d& model() const {
    return model_;
  }

 private:
  SegConfig config_;
  EpochSampler sampler_;
  UNet3d model_{nullptr};
  std::unique_ptr<optim::Adam> opt_;
  int64_t step_ = 0;
  std::vector<double> losses_;
};

double mean_of(const std::vector<double>& v, size_t first, size_t count) {
  double s = 0;
  for (size_t i = first; i < first + count; ++i)
    s += v[i];
  return s / static_cast<double>(count);
}

int run(int argc, const char* const* argv) {
  const Stopwatch clock;
  SegConfig config;
  int64_t threads = num_threads(), stop_at = 0;
  std::string out = "unet3d_seg_out", resume;
  bool check = false;
  ArgParser cli(
      "unet3d_seg",
      "Trains a 3-D U-Net to label each voxel of procedural scenes (two\n"
      "solids side by side) as background, sphere, box, torus, cylinder or\n"
      "capsule, by per-voxel cross-entropy; reports per-class accuracy and\n"
      "IoU on held-out scenes and writes a checkpoint and metrics.json to\n"
      "--out. VOXGRAD_PROFILE=1 prints where the time of the steps went.");
  const Settings<SegConfig> s = settings();
  s.add_flags(cli, config);
  cli.add("threads", &threads, "worker threads", 1, 1024);
  cli.add("out", &out, "output folder (created)");
  cli.add(
      "resume", &resume,
      "checkpoint to continue from (its settings are kept; --steps and "
      "--log-every may change, any other setting given must match)");
  cli.add(
      "stop-at", &stop_at,
      "stop after this step with a checkpoint, as if interrupted (0: run to "
      "--steps)",
      0, 250000);
  cli.add_switch(
      "check", &check,
      "fail (exit 1) unless the loss fell and the held-out mean IoU beats "
      "the trivial predictor");
  if (!cli.parse(argc, argv))
    return 0;
  set_num_threads(static_cast<int>(threads));
  if (!resume.empty())
    config = s.merge_resumed(Trainer::peek_config(resume), config, cli);
  Trainer trainer(config);
  if (!resume.empty())
    trainer.load_checkpoint(resume);
  const int64_t stop = stop_at > 0 ? stop_at : config.steps;
  VOXGRAD_CHECK(
      stop <= config.steps && stop >= trainer.steps_done(), "--stop-at ",
      stop_at, " must lie in [", trainer.steps_done(), ", ", config.steps,
      "] (the checkpoint's step and --steps)");
  make_dirs(out);
  std::cout << "unet3d_seg: " << trainer.model()->num_parameters()
            << " parameters, width " << config.width << ", " << config.levels
            << " levels; " << config.train_size << " training and "
            << config.test_size << " held-out scenes of " << config.res
            << "^3, " << kSegClasses << " classes; batch " << config.batch
            << ", Adam lr " << config.lr << ", " << num_threads() << " threads"
            << std::endl;
  if (!resume.empty())
    std::cout << "resumed from " << resume << " at step "
              << trainer.steps_done() << std::endl;

  StepProfile profile(out);  // VOXGRAD_PROFILE=1
  const Stopwatch train_clock;
  const int64_t first = trainer.steps_done();
  while (trainer.steps_done() < stop) {
    profile.before_step();
    const double loss = trainer.step();
    profile.after_step();
    const int64_t k = trainer.steps_done();
    if (k % config.log_every == 0 || k == stop) {
      const double per_step =
          train_clock.seconds() / static_cast<double>(k - first);
      std::cout << "step " << k << "/" << config.steps << "  loss " << loss
                << "  " << per_step << " s/step" << std::endl;
    }
  }
  trainer.save_checkpoint(out + "/checkpoint.json");
  if (stop < config.steps) {
    std::cout << "stopped at step " << stop << "; resume with --resume " << out
              << "/checkpoint.json" << std::endl;
    return 0;
  }

  // Held-out scenes, and the trivial predictor: the most frequent class of
  // (the first 64) training scenes, everywhere.
  std::vector<int64_t> items(static_cast<size_t>(config.test_size));
  std::iota(items.begin(), items.end(), 0);
  const SegBatch test = make_scenes(
      static_cast<uint64_t>(config.seed), Split::Test, items, config.res);
  const SegReport got = segmentation_report(
      trainer.predict(test.occupancy), test.labels, kSegClasses);
  std::vector<int64_t> train_items(
      static_cast<size_t>(std::min<int64_t>(config.train_size, 64)));
  std::iota(train_items.begin(), train_items.end(), 0);
  std::vector<int64_t> counts(static_cast<size_t>(kSegClasses), 0);
  for (int64_t c : make_scenes(
                       static_cast<uint64_t>(config.seed), Split::Train,
                       train_items, config.res)
                       .labels.to_vector<int64_t>())
    ++counts[static_cast<size_t>(c)];
  const auto majority = static_cast<int64_t>(
      std::max_element(counts.begin(), counts.end()) - counts.begin());
  const SegReport trivial = segmentation_report(
      full(test.labels.shape(), static_cast<double>(majority), kInt64),
      test.labels, kSegClasses);

  const auto& l = trainer.losses();
  const size_t k = std::min<size_t>(5, l.size() / 2);
  const double loss_first = k ? mean_of(l, 0, k) : 0,
               loss_last = k ? mean_of(l, l.size() - k, k) : 0;
  std::cout << "held-out: " << report_text(got) << "\nmean IoU " << got.mean_iou
            << ", accuracy " << got.overall_accuracy << " (trivial predictor, "
            << seg_class_name(majority) << " everywhere: mean IoU "
            << trivial.mean_iou << ", accuracy " << trivial.overall_accuracy
            << ")" << std::endl;
  const nlohmann::ordered_json result = {
      {"mean_iou", got.mean_iou},      {"trivial_mean_iou", trivial.mean_iou},
      {"loss_first", loss_first},      {"loss_last", loss_last},
      {"steps", trainer.steps_done()}, {"seconds", clock.seconds()},
      {"test", to_json(got)}};
  write_file_atomic(out + "/metrics.json", result.dump() + "\n");
  if (check) {
    VOXGRAD_CHECK(
        k > 0 && loss_last < loss_first,
        "--check: the loss did not fall (mean of the first ", k, " steps ",
        loss_first, ", of the last ", k, " steps ", loss_last, ")");
    VOXGRAD_CHECK(
        got.mean_iou > trivial.mean_iou, "--check: held-out mean IoU ",
        got.mean_iou, " does not beat the trivial predictor's ",
        trivial.mean_iou);
    std::cout << "check passed: loss " << loss_first << " -> " << loss_last
              << ", mean IoU " << got.mean_iou << " > trivial "
              << trivial.mean_iou << std::endl;
  }
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("unet3d_seg", [&] { return run(argc, argv); });
}
