#include "trainer.hpp"

#include "resume_meta.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad::examples {
namespace {

constexpr const char* kFormat = "voxel_vae";
constexpr int kVersion = 1;

// Separate streams for separate purposes: re-seeding one never shifts the
// draws of another.
uint64_t noise_seed(int64_t seed) {
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + 0x4E4F495345ULL;
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
           config.train_size, config.test_size}),
      model_(make_model(config)),
      sampler_(config.train_size, static_cast<uint64_t>(config.seed)),
      noise_(noise_seed(config.seed)) {
  VOXGRAD_CHECK(
      config.batch >= dp_.world, "voxel_vae: batch (", config.batch,
      ") must be >= the number of processes (", dp_.world, ")");
  opt_ = std::make_unique<optim::Adam>(
      model_->parameters(), optim::AdamOptions(config.lr));
  // Cosine decay to 5% of the peak: most of the final detail comes from the
  // small steps at the end.
  if (config.lr_schedule == "cosine")
    sched_ = std::make_unique<optim::CosineAnnealingLR>(
        *opt_, config.steps, 0.05 * config.lr);
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
  const Tensor x = prefetch_.take(
      Split::Train, my_items(sampler_.next_batch(config_.batch)));
  // The next step's shapes are voxelized while this step computes.
  prefetch_.prefetch(
      Split::Train, my_items(sampler_.peek_batch(config_.batch)));
  // Noise for the whole global batch, then this rank's rows: every rank
  // advances the generator alike and sample i gets the same noise however
  // the batch is split.
  const Tensor eps =
      randn({config_.batch, config_.arch.latent}, kFloat32, &noise_)
          .slice(0, mine.first, mine.first + mine.count);
  StepStats s;
  s.lr = opt_->lr();
  opt_->zero_grad();
  const VaeLoss l = vae_loss(model_->forward(x, eps), x, config_.beta);
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
  nlohmann::json meta = {
      {"format", kFormat},
      {"version", kVersion},
      {"config", to_json(config_)},
      {"step", step_},
      {"sampler", sampler_.state()},
      {"noise_generator", generator_state(noise_)},
      {"scheduler", sched_ ? sched_->state_dict() : nlohmann::json()},
      {"history", history_to_json(history_)}};
  save(path, *model_, opt_.get(), meta);
}

VaeConfig VaeTrainer::peek_config(const std::string& path) {
  // Reading into an empty module with strict off verifies the file (JSON,
  // checksum, tensors) and returns its metadata without loading anything.
  nn::Module nothing;
  const nlohmann::json meta =
      load(path, nothing, nullptr, LoadOptions{.strict = false});
  VOXGRAD_CHECK(
      meta.is_object() && meta.value("format", "") == kFormat, "'", path,
      "' is not a voxel_vae checkpoint (metadata 'format' is ",
      meta.is_object() && meta.contains("format") ? meta["format"].dump()
                                                  : "missing",
      ")");
  VOXGRAD_CHECK(
      meta.value("version", -1) == kVersion, "'", path,
      "': unsupported voxel_vae checkpoint version ",
      meta.contains("version") ? meta["version"].dump() : "(none)",
      " (this program reads version ", kVersion, ")");
  return config_from_json(meta_field(meta, "config"));
}

void VaeTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  try {
    const int64_t step = meta_step(meta, config_.steps);
    Generator noise = noise_;
    restore_generator(meta, noise);
    TrainHistory history = history_from_json(meta_field(meta, "history"), step);
    sampler_.load_state(meta_field(meta, "sampler"));
    if (sched_)
      sched_->load_state_dict(meta_field(meta, "scheduler"));
    noise_ = noise;
    step_ = step;
    history_ = std::move(history);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot resume from '") + path + "': " + e.what());
  }
}

}  // namespace voxgrad::examples
