#include "trainer.hpp"

#include <cmath>

#include "example_settings.hpp"
#include "gradient_penalty.hpp"
#include "resume_meta.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad::examples {
namespace {

constexpr const char* kFormat = "voxel_wgan_gp";
constexpr int kVersion = 2;  // 2: data source and metric settings

// The history in checkpoints, one row per step:
// [step, critic_loss, wasserstein, penalty, generator_loss].
const HistoryRows<GanStats>& history_rows() {
  static const HistoryRows<GanStats> rows{
      5, "[step, critic_loss, wasserstein, penalty, generator_loss]",
      [](const GanStats& h) -> nlohmann::json {
        return {
            h.step, h.critic_loss, h.wasserstein, h.penalty, h.generator_loss};
      },
      [](const nlohmann::json& row) {
        return GanStats{
            row[0].get<int64_t>(), meta_number(row, 1, "'history'"),
            meta_number(row, 2, "'history'"), meta_number(row, 3, "'history'"),
            meta_number(row, 4, "'history'")};
      }};
  return rows;
}

}  // namespace

const Settings<GanConfig>& wgan_settings() {
  static const Settings<GanConfig> s = [] {
    Settings<GanConfig> t;
#define REF(expr) [](GanConfig& c) -> decltype(c.expr)& { return c.expr; }
    // The checkpoint keeps the whole history (6 JSON values, about 130
    // bytes a step at worst): 250k steps stay well inside what
    // voxgrad::load reads back (64 MiB of metadata, 4 Mi values).
    t.add_int(
        "steps",
        "generator steps of the run (at most 250000, so the "
        "checkpoint stays resumable)",
        1, 250'000, false, REF(steps));
    t.add_int(
        "batch", "shapes per critic and generator step", 1, 4096, false,
        REF(batch));
    t.add_int(
        "n-critic", "critic steps per generator step", 1, 100, false,
        REF(n_critic));
    t.add_double(
        "lr", "Adam learning rate (betas 0.5, 0.9)", 0, 1, false, REF(lr));
    t.add_double(
        "lambda", "gradient penalty weight", 0, 1e6, false, REF(lambda));
    add_seed_settings(t, "training shapes", "held-out procedural shapes");
    add_source_settings(t);
    // Evaluated once, at the end: no --eval-every.
    t.add_int(
        "eval-samples", "samples and held-out shapes for MMD/COV/1-NNA", 2,
        100000, true, REF(eval_samples));
    add_eval_points_setting(t);
    t.add_int(
        "resolution", "voxels per side (a multiple of 8)", 8, 64, false,
        REF(arch.resolution));
    t.add_int(
        "width", "channels of the critic's first layer", 1, 256, false,
        REF(arch.width));
    t.add_int("latent", "latent dimensions", 1, 4096, false, REF(arch.latent));
#undef REF
    add_checkpoint_cadence(t);
    return t;
  }();
  return s;
}

GanTrainer::GanTrainer(const GanConfig& config, std::ostream* log)
    : config_(config),
      data_(
          {static_cast<uint64_t>(config.data_seed), config.arch.resolution,
           config.train_size, config.test_size, config.source, log}),
      model_([&] {
        manual_seed(static_cast<uint64_t>(config.seed));
        return std::make_shared<WganGp>(config.arch);
      }()),
      sampler_(data_.size(Split::Train), static_cast<uint64_t>(config.seed)),
      noise_(static_cast<uint64_t>(config.seed) * 0x9E3779B97F4A7C15ULL + 7) {
  // The generator's first BatchNorm3d normalises batch x (resolution/8)^3
  // values per channel; one value cannot be normalised (it would fail at
  // the first step, after the output folder was made).
  const int64_t s = config.arch.resolution / 8;
  VOXGRAD_CHECK(
      config.batch * s * s * s >= 2, "--batch ", config.batch,
      " with --resolution ", config.arch.resolution,
      " leaves the generator's first BatchNorm3d a single value per channel "
      "to normalise; use --batch 2 or more, or --resolution 16 or more");
  // One Adam over two groups, so one checkpoint holds both: each phase
  // clears the other network's gradients, and Adam skips parameters
  // without a gradient. betas (0.5, 0.9) as in the WGAN-GP paper's code.
  opt_ = std::make_unique<optim::Adam>(
      std::vector<optim::ParamGroup>{
          optim::ParamGroup(model_->generator().parameters()),
          optim::ParamGroup(model_->critic().parameters())},
      optim::AdamOptions(config.lr).betas({0.5, 0.9}));
}

void GanTrainer::check_finite(const char* what, double value) const {
  // A diverged run stops before the optimizer spreads NaN into the weights
  // and before a checkpoint could hold a non-finite loss (voxgrad::save
  // refuses one): the last checkpoint written stays resumable.
  VOXGRAD_CHECK(
      std::isfinite(value), "the ", what, " of step ", step_ + 1, " is ", value,
      ": training diverged (try a smaller --lr or --lambda); the last "
      "checkpoint in the output folder is kept");
}

GanStats GanTrainer::train_step() {
  const int64_t b = config_.batch, z_dim = config_.arch.latent;
  auto critic = [this](const Tensor& x) { return model_->critique(x); };
  GanStats s;
  for (int64_t k = 0; k < config_.n_critic; ++k) {
    const Tensor real = prefetch_.take(Split::Train, sampler_.next_batch(b));
    // The next critic step's shapes are voxelized while this one computes.
    prefetch_.prefetch(Split::Train, sampler_.peek_batch(b));
    const Tensor z = randn({b, z_dim}, kFloat32, &noise_);
    Tensor fake;
    {
      NoGradGuard no_grad;  // the critic phase does not train the generator
      fake = model_->generate(z);
    }
    const Tensor alpha = rand({b, 1, 1, 1, 1}, kFloat32, &noise_);
    opt_->zero_grad();
    const Tensor w = mean(critic(real)) - mean(critic(fake));
    const Tensor gp =
        gradient_penalty(critic, real, fake, alpha, config_.lambda);
    const Tensor loss = gp - w;
    check_finite("critic loss", loss.item());
    loss.backward();
    opt_->step();
    s.critic_loss = loss.item();
    s.wasserstein = w.item();
    s.penalty = gp.item();
  }
  const Tensor z = randn({b, z_dim}, kFloat32, &noise_);
  opt_->zero_grad();
  const Tensor g_loss = -mean(critic(model_->generate(z)));
  check_finite("generator loss", g_loss.item());
  g_loss.backward();
  model_->critic().zero_grad();  // only the generator learns here
  opt_->step();
  s.generator_loss = g_loss.item();
  s.step = ++step_;
  history_.push_back(s);
  return s;
}

void GanTrainer::save_checkpoint(const std::string& path) const {
  save(
      path, *model_, opt_.get(),
      with_history(
          loop_meta(
              kFormat, kVersion, wgan_settings().to_json(config_), step_,
              sampler_, noise_),
          history_, history_rows()));
}

GanConfig GanTrainer::peek_config(const std::string& path) {
  return saved_config(wgan_settings(), path, kFormat, kVersion);
}

void GanTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  restore_loop(
      path, meta, config_.steps, history_rows(), sampler_, noise_, step_,
      history_);
}

}  // namespace voxgrad::examples
