#include "trainer.hpp"

#include <cmath>

#include "example_settings.hpp"
#include "resume_meta.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/nn/functional.hpp"
#include "voxgrad/nn/loss.hpp"
#include "voxgrad/nn/utils/clip_grad.hpp"

namespace voxgrad::examples {
namespace {

constexpr const char* kFormat = "voxel_diffusion";
constexpr int kVersion = 1;

uint64_t noise_seed(int64_t seed) {
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + 0x444446ULL;
}

// The history in checkpoints, one row per step:
// [step, loss, lr, grad_norm].
const HistoryRows<DiffusionStats>& history_rows() {
  static const HistoryRows<DiffusionStats> rows{
      4, "[step, loss, lr, grad_norm]",
      [](const DiffusionStats& h) -> nlohmann::json {
        return {h.step, h.loss, h.lr, h.grad_norm};
      },
      [](const nlohmann::json& row) {
        return DiffusionStats{
            row[0].get<int64_t>(), meta_number(row, 1, "'history'"),
            meta_number(row, 2, "'history'"), meta_number(row, 3, "'history'")};
      }};
  return rows;
}

}  // namespace

const Settings<DiffusionConfig>& diffusion_settings() {
  static const Settings<DiffusionConfig> s = [] {
    Settings<DiffusionConfig> t;
#define REF(expr) [](DiffusionConfig& c) -> decltype(c.expr)& { return c.expr; }
    // A cadence setting: nothing in a step depends on the total (the lr
    // is constant after the warm-up), so a resumed run may go further.
    t.add_int(
        "steps",
        "training steps (at most 250000, so the checkpoint, which keeps the "
        "history of every step, stays loadable); may grow on --resume",
        1, 250'000, true, REF(steps));
    t.add_int("batch", "shapes per batch", 1, 4096, false, REF(batch));
    t.add_int(
        "res", "voxels per side of the shapes", 4, 128, false,
        REF(arch.resolution));
    t.add_int(
        "patch",
        "p: the U-Net runs at res/p, p^3 voxels per cell (PixelUnshuffle3d "
        "in, PixelShuffle3d out)",
        1, 4, false, REF(arch.patch));
    t.add_int(
        "width", "channels of the U-Net's first level (even)", 2, 1024, false,
        REF(arch.width));
    t.add_text(
        "mults",
        "channel multiplier of each level, comma-separated (one level per "
        "entry; self-attention at the last)",
        false, REF(mults));
    t.add_int(
        "blocks", "residual blocks per level and direction", 1, 8, false,
        REF(arch.blocks));
    t.add_int(
        "heads", "attention heads at the lowest resolution", 1, 64, false,
        REF(arch.heads));
    t.add_int(
        "groups", "most GroupNorm groups (the largest divisor of C up to it)",
        1, 1024, false, REF(arch.groups));
    t.add_choice(
        "downsample", "between levels: strided Conv3d or avg_pool3d",
        {"conv", "pool"}, REF(arch.downsample));
    t.add_choice(
        "upsample",
        "between levels: ConvTranspose3d k4 s2, or nearest x2 + Conv3d",
        {"transposed", "nearest"}, REF(arch.upsample));
    t.add_int(
        "conditional",
        "1: class-conditional on the data's labels (shape kinds or --data's "
        "classes)",
        0, 1, false, REF(conditional));
    t.add_int(
        "timesteps", "T: diffusion steps of training and of DDPM sampling", 2,
        100000, false, REF(timesteps));
    t.add_choice(
        "schedule", "beta schedule: linear (DDPM) or cosine (improved DDPM)",
        {"linear", "cosine"}, REF(schedule));
    t.add_choice(
        "prediction",
        "what the network predicts: epsilon (the noise, DDPM) or v "
        "(sqrt(abar) eps - sqrt(1 - abar) x0, better conditioned at high "
        "noise)",
        {"epsilon", "v"}, REF(prediction));
    t.add_double("lr", "Adam learning rate", 0, 1, false, REF(lr));
    t.add_int(
        "warmup", "steps of linear lr warm-up (0: none)", 0, kMaxSettingCount,
        false, REF(warmup));
    t.add_double(
        "grad-clip", "clip the gradient's norm to this (0: no clipping)", 0,
        1e6, false, REF(grad_clip));
    t.add_double(
        "ema-decay", "decay of the weights' moving average", 0, 1, false,
        REF(ema_decay));
    t.add_choice(
        "ema-warmup",
        "on: decay min(ema-decay, (1 + n) / (10 + n)) at update n = 0, 1, ...",
        {"on", "off"}, REF(ema_warmup));
#undef REF
    add_seed_settings(
        t, "procedural training shapes", "procedural held-out shapes");
    add_source_settings(t);
    add_checkpoint_cadence(t);
    add_generation_eval_settings(t);
    t.set_finish(finish_config);
    return t;
  }();
  return s;
}

void finish_config(DiffusionConfig& c) {
  c.arch.mults = parse_mults(c.mults);
}

DiffusionModel::DiffusionModel(
    const UNetArch& arch,
    const nn::utils::ExponentialMovingAverageOptions& ema_options) {
  net = register_module("net", UNet3d(arch));
  // The average starts at the initial weights.
  ema = register_module(
      "ema", nn::utils::ExponentialMovingAverage(*net, ema_options));
}

DiffusionTrainer::DiffusionTrainer(
    const DiffusionConfig& config, std::ostream* log)
    : config_(config),
      data_(
          {static_cast<uint64_t>(config.data_seed), config.arch.resolution,
           config.train_size, config.test_size, config.source, log}),
      schedule_(parse_beta_schedule(config.schedule), config.timesteps),
      sampler_(data_.size(Split::Train), static_cast<uint64_t>(config.seed)),
      noise_(noise_seed(config.seed)) {
  finish_config(config_);
  UNetArch arch = config_.arch;
  arch.num_classes = config_.conditional ? num_classes() : 0;
  VOXGRAD_CHECK(
      !config_.conditional || arch.num_classes >= 1,
      "--conditional 1 needs a data set with classes");
  manual_seed(static_cast<uint64_t>(config_.seed));  // layers draw init here
  model_ = std::make_shared<DiffusionModel>(
      arch, nn::utils::ExponentialMovingAverageOptions(config_.ema_decay)
                .warmup(config_.ema_warmup == "on"));
  opt_ = std::make_unique<optim::Adam>(
      model_->net->parameters(), optim::AdamOptions(config_.lr));
  if (config_.warmup > 0)
    sched_ = std::make_unique<optim::LinearLR>(
        *opt_, 1.0 / static_cast<double>(config_.warmup), 1.0, config_.warmup);
}

int64_t DiffusionTrainer::num_classes() const {
  return data_.is_folder() ? static_cast<int64_t>(data_.class_names().size())
                           : int64_t{kNumShapeKinds};
}

void DiffusionTrainer::set_cadence(const DiffusionConfig& c) {
  config_.ckpt_every = c.ckpt_every;
  config_.log_every = c.log_every;
  config_.eval_every = c.eval_every;
  config_.eval_samples = c.eval_samples;
  config_.eval_points = c.eval_points;
  config_.source.cache = c.source.cache;
}

DiffusionStats DiffusionTrainer::train_step() {
  const int64_t b = config_.batch;
  const std::vector<int64_t> items = sampler_.next_batch(b);
  const Tensor v = prefetch_.take(Split::Train, items);
  prefetch_.prefetch(Split::Train, sampler_.peek_batch(b));
  const Tensor x0 = v * 2.0 - 1.0;
  const Tensor t = randint(0, config_.timesteps, {b}, &noise_);
  const Tensor eps = randn(x0.shape(), kFloat32, &noise_);
  const std::vector<int64_t> ts = t.to_vector<int64_t>();
  const Tensor x_t = schedule_.add_noise(x0, eps, ts);
  Tensor labels;
  if (config_.conditional) {
    std::vector<int64_t> l;
    for (int64_t i : items)
      l.push_back(data_.label(Split::Train, i));
    labels = from_blob(l.data(), {b});
  }
  DiffusionStats s;
  s.lr = opt_->lr();
  opt_->zero_grad();
  const Tensor target =
      config_.prediction == "v" ? schedule_.get_velocity(x0, eps, ts) : eps;
  const Tensor loss =
      F::mse_loss(model_->net(x_t, t.to(kFloat32), labels), target);
  s.loss = loss.item();
  // A diverged run stops before Adam spreads NaN into the weights, so the
  // last checkpoint stays resumable.
  VOXGRAD_CHECK(
      std::isfinite(s.loss), "the loss of step ", step_ + 1, " is ", s.loss,
      ": training diverged (try a smaller --lr); the last checkpoint in the "
      "output folder is kept");
  loss.backward();
  if (config_.grad_clip > 0)
    s.grad_norm = nn::utils::clip_grad_norm_(
        model_->net->parameters(), config_.grad_clip);
  opt_->step();
  if (sched_)
    sched_->step();
  s.step = ++step_;
  model_->ema->update(*model_->net);
  history_.push_back(s);
  return s;
}

Tensor DiffusionTrainer::sample(
    int64_t n,
    const SamplerSettings& how,
    Generator& gen,
    const SamplingCallback& callback) {
  VOXGRAD_CHECK(
      n >= 1, "DiffusionTrainer::sample: n must be >= 1 (got ", n, ")");
  UNet3d& net = model_->net;
  Tensor labels;
  if (net->arch().num_classes > 0) {
    std::vector<int64_t> l;
    for (int64_t i = 0; i < n; ++i)
      l.push_back(i % net->arch().num_classes);
    labels = from_blob(l.data(), {n});
  }
  const NoisePredictor predict = [&](const Tensor& x, const Tensor& t) {
    const Tensor out = net(x, t, labels);
    if (config_.prediction != "v")
      return out;
    std::vector<int64_t> ts;
    for (double v : t.to(kFloat64).to_vector<double>())
      ts.push_back(static_cast<int64_t>(v));
    return schedule_.epsilon_from_velocity(x, out, ts);
  };
  const int64_t r = config_.arch.resolution;
  const Shape shape{n, 1, r, r, r};
  const nn::utils::AverageSwap averaged = model_->ema->swap(*net);
  net->eval();
  Tensor out;
  if (how.sampler == "ddpm")
    out = ddpm_sample(predict, schedule_, shape, gen, kFloat32, callback);
  else if (how.sampler == "ddim")
    out = ddim_sample(
        predict, schedule_, shape, how.steps, how.eta, gen, kFloat32, callback);
  else
    throw Error("sampler must be 'ddim' or 'ddpm' (got '" + how.sampler + "')");
  net->train();
  return out;
}

void DiffusionTrainer::save_checkpoint(const std::string& path) const {
  nlohmann::json meta = with_history(
      loop_meta(
          kFormat, kVersion, diffusion_settings().to_json(config_), step_,
          sampler_, noise_),
      history_, history_rows());
  meta["scheduler"] = sched_ ? sched_->state_dict() : nlohmann::json();
  save(path, *model_, opt_.get(), meta);
}

DiffusionConfig DiffusionTrainer::peek_config(const std::string& path) {
  return saved_config(diffusion_settings(), path, kFormat, kVersion);
}

void DiffusionTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  restore_loop(
      path, meta, config_.steps, history_rows(), sampler_, noise_, step_,
      history_, [&] {
        if (sched_)
          sched_->load_state_dict(meta_field(meta, "scheduler"));
      });
}

}  // namespace voxgrad::examples
