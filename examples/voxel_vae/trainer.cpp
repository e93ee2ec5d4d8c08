#include "trainer.hpp"

#include <cmath>
#include <iostream>

#include "resume_meta.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/data/augment.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/sgd.hpp"

namespace voxgrad::examples {
namespace {

constexpr const char* kFormat = "voxel_vae";
constexpr int kVersion = 2;  // 2: data source, augmentation, Brock options

// Separate streams for separate purposes: re-seeding one never shifts the
// draws of another.
uint64_t noise_seed(int64_t seed) {
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + 0x4E4F495345ULL;
}
uint64_t augment_seed(int64_t seed) {
  return static_cast<uint64_t>(seed) * 0xD1B54A32D192ED03ULL + 0x415547ULL;
}

data::AugmentOptions augment_options(const VaeConfig& c) {
  const bool flips = c.augment == "flips" || c.augment == "flips+shifts";
  const bool shifts = c.augment == "shifts" || c.augment == "flips+shifts";
  return {
      .flip = flips, .max_shift = shifts ? c.max_shift : 0, .circular = true};
}

std::shared_ptr<VoxelVAE> make_model(const VaeConfig& c) {
  manual_seed(static_cast<uint64_t>(c.seed));  // layers draw their init here
  return std::make_shared<VoxelVAE>(c.arch);
}

nlohmann::json history_to_json(const TrainHistory& h) {
  nlohmann::json steps = nlohmann::json::array(), iou = nlohmann::json::array();
  // Doubles are written with round-trip precision, so the curve reloads
  // bit for bit.
  for (const StepStats& s : h.steps)
    steps.push_back({s.step, s.loss, s.rec, s.kl, s.lr});
  for (const auto& [step, v] : h.iou)
    iou.push_back({step, v});
  return {{"steps", steps}, {"iou", iou}};
}

TrainHistory history_from_json(const nlohmann::json& j, int64_t step) {
  const char* what = "checkpoint metadata: 'history'";
  VOXGRAD_CHECK(
      j.is_object() && j.contains("steps") && j["steps"].is_array() &&
          j.contains("iou") && j["iou"].is_array(),
      what, " must be {\"steps\": [...], \"iou\": [...]}");
  TrainHistory h;
  for (const auto& row : j["steps"]) {
    VOXGRAD_CHECK(
        row.is_array() && row.size() == 5 && row[0].is_number_integer() &&
            row[1].is_number() && row[2].is_number() && row[3].is_number() &&
            row[4].is_number(),
        what, ": each step must be [step, loss, rec, kl, lr] (got ", row.dump(),
        ")");
    h.steps.push_back(
        {row[0].get<int64_t>(), row[1].get<double>(), row[2].get<double>(),
         row[3].get<double>(), row[4].get<double>()});
    VOXGRAD_CHECK(
        h.steps.back().step == static_cast<int64_t>(h.steps.size()), what,
        ": steps must run 1, 2, ... (entry ", h.steps.size(), " is step ",
        h.steps.back().step, ")");
  }
  VOXGRAD_CHECK(
      static_cast<int64_t>(h.steps.size()) == step, what, " holds ",
      h.steps.size(), " steps but the checkpoint is at step ", step);
  for (const auto& row : j["iou"]) {
    VOXGRAD_CHECK(
        row.is_array() && row.size() == 2 && row[0].is_number_integer() &&
            row[1].is_number(),
        what, ": each IoU entry must be [step, iou] (got ", row.dump(), ")");
    h.iou.emplace_back(row[0].get<int64_t>(), row[1].get<double>());
  }
  return h;
}

}  // namespace

VaeTrainer::VaeTrainer(const VaeConfig& config, DataParallel dp)
    : config_(config),
      dp_(std::move(dp)),
      data_(
          {static_cast<uint64_t>(config.data_seed), config.arch.resolution,
           config.train_size, config.test_size, config.source,
           dp_.is_main() ? &std::cout : nullptr}),
      model_(make_model(config)),
      sampler_(data_.size(Split::Train), static_cast<uint64_t>(config.seed)),
      noise_(noise_seed(config.seed)),
      augment_(augment_seed(config.seed)) {
  VOXGRAD_CHECK(
      config.batch >= dp_.world, "voxel_vae: batch (", config.batch,
      ") must be >= the number of processes (", dp_.world, ")");
  if (config.optimizer == "nesterov")
    opt_ = std::make_unique<optim::SGD>(
        model_->parameters(),
        optim::SGDOptions(config.lr).momentum(0.9).nesterov(true).weight_decay(
            config.weight_decay));
  else
    opt_ = std::make_unique<optim::Adam>(
        model_->parameters(),
        optim::AdamOptions(config.lr).weight_decay(config.weight_decay));
  // Cosine decay to 5% of the peak: most of the final detail comes from the
  // small steps at the end.
  if (config.lr_schedule == "cosine") {
    sched_ = std::make_unique<optim::CosineAnnealingLR>(
        *opt_, config.steps, 0.05 * config.lr);
  } else if (config.lr_schedule == "brock") {
    // Brock et al.: lr / 10 for the first epoch, then lr.
    const int64_t epoch =
        std::max<int64_t>(1, data_.size(Split::Train) / config.batch);
    sched_ = std::make_unique<optim::SequentialLR>(
        *opt_,
        std::vector<std::shared_ptr<optim::LRScheduler>>{
            std::make_shared<optim::LinearLR>(*opt_, 0.1, 0.1, epoch),
            std::make_shared<optim::LinearLR>(*opt_, 1.0, 1.0, 1)},
        std::vector<int64_t>{epoch});
  }
}

void VaeTrainer::set_cadence(const VaeConfig& c) {
  config_.ckpt_every = c.ckpt_every;
  config_.eval_every = c.eval_every;
  config_.log_every = c.log_every;
}

StepStats VaeTrainer::train_step() {
  const ShardRange mine = shard_range(config_.batch, dp_.rank, dp_.world);
  auto my_items = [&](const std::vector<int64_t>& global) {
    return std::vector<int64_t>(
        global.begin() + mine.first, global.begin() + mine.first + mine.count);
  };
  Tensor x = prefetch_.take(
      Split::Train, my_items(sampler_.next_batch(config_.batch)));
  // The next step's shapes are voxelized while this step computes.
  prefetch_.prefetch(
      Split::Train, my_items(sampler_.peek_batch(config_.batch)));
  // The augmentation draws for the whole global batch are reserved on every
  // rank alike (so W ranks x B/W see what 1 x B sees), this rank's part used.
  const data::AugmentOptions aug = augment_options(config_);
  if (aug.any()) {
    Generator mine_gen = augment_;
    mine_gen.advance(static_cast<uint64_t>(mine.first) * 6);
    x = data::augment(x, aug, mine_gen);
    augment_.advance(static_cast<uint64_t>(config_.batch) * 6);
  }
  // Noise for the whole global batch, then this rank's rows: every rank
  // advances the generator alike and sample i gets the same noise however
  // the batch is split.
  const Tensor eps =
      randn({config_.batch, config_.arch.latent}, kFloat32, &noise_)
          .slice(0, mine.first, mine.first + mine.count);
  StepStats s;
  s.lr = opt_->lr();
  opt_->zero_grad();
  const VaeLoss l = vae_loss(
      model_->forward(x, eps), x, config_.beta, config_.reconstruction,
      config_.gamma);
  // A diverged run stops here, before the optimizer spreads NaN into the
  // weights and before a checkpoint could hold a non-finite loss (which
  // voxgrad::save refuses): the last checkpoint written stays resumable.
  const double local_loss = l.loss.item();
  VOXGRAD_CHECK(
      std::isfinite(local_loss), "the loss of step ", step_ + 1, " is ",
      local_loss,
      ": training diverged (try a smaller --lr or --beta); the last "
      "checkpoint in the output folder is kept");
  l.loss.backward();
  if (dp_.average_gradients)
    dp_.average_gradients(*model_);
  opt_->step();
  if (sched_)
    sched_->step();
  std::vector<double> v{l.loss.item(), l.rec.item(), l.kl.item()};
  if (dp_.average_values)
    dp_.average_values(v);
  s.step = ++step_;
  s.loss = v[0], s.rec = v[1], s.kl = v[2];
  history_.steps.push_back(s);
  return s;
}

void VaeTrainer::save_checkpoint(const std::string& path) const {
  nlohmann::json meta = loop_meta(
      kFormat, kVersion, vae_settings().to_json(config_), step_, sampler_,
      noise_);
  meta["augment_generator"] = generator_state(augment_);
  meta["scheduler"] = sched_ ? sched_->state_dict() : nlohmann::json();
  meta["history"] = history_to_json(history_);
  save(path, *model_, opt_.get(), meta);
}

VaeConfig VaeTrainer::peek_config(const std::string& path) {
  return saved_config(vae_settings(), path, kFormat, kVersion);
}

void VaeTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  restoring(path, [&] {
    const int64_t step = meta_step(meta, config_.steps);
    Generator noise = noise_, augment = augment_;
    restore_generator(meta, noise);
    restore_generator(meta, augment, "augment_generator");
    TrainHistory history = history_from_json(meta_field(meta, "history"), step);
    sampler_.load_state(meta_field(meta, "sampler"));
    if (sched_)
      sched_->load_state_dict(meta_field(meta, "scheduler"));
    noise_ = noise;
    augment_ = augment;
    step_ = step;
    history_ = std::move(history);
  });
}

}  // namespace voxgrad::examples
