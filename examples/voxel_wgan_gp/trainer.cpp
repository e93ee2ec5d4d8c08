#include "trainer.hpp"

#include <cmath>

#include "gradient_penalty.hpp"
#include "resume_meta.hpp"
#include "settings.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad::examples {
namespace {

constexpr const char* kFormat = "voxel_wgan_gp";
constexpr int kVersion = 2;  // 2: data source and metric settings

const Settings<GanConfig>& settings() {
  static const Settings<GanConfig> s = [] {
    Settings<GanConfig> t;
    const int64_t big = 100'000'000, seed_max = int64_t{1} << 62;
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
    t.add_int(
        "seed", "seed of initialisation, noise and data order", 0, seed_max,
        false, REF(seed));
    t.add_int(
        "data-seed", "seed of the procedural data set", 0, seed_max, false,
        REF(data_seed));
    t.add_int("train-size", "training shapes", 1, big, false, REF(train_size));
    t.add_int(
        "test-size", "held-out procedural shapes", 1, 1'000'000, false,
        REF(test_size));
    t.add_text("data", kDataFlagHelp, false, REF(source.folder));
    t.add_text("cache", kCacheFlagHelp, true, REF(source.cache));
    t.add_choice("up", kUpFlagHelp, {"z", "y"}, REF(source.up));
    t.add_choice("fill", kFillFlagHelp, {"flood", "winding"}, REF(source.fill));
    t.add_int(
        "eval-samples", "samples and held-out shapes for MMD/COV/1-NNA", 2,
        100000, true, REF(eval_samples));
    t.add_int(
        "eval-points", "surface points per shape for the Chamfer distance", 16,
        1'000'000, true, REF(eval_points));
    t.add_int(
        "resolution", "voxels per side (a multiple of 8)", 8, 64, false,
        REF(arch.resolution));
    t.add_int(
        "width", "channels of the critic's first layer", 1, 256, false,
        REF(arch.width));
    t.add_int("latent", "latent dimensions", 1, 4096, false, REF(arch.latent));
    t.add_int(
        "ckpt-every", "steps between checkpoints", 1, big, true,
        REF(ckpt_every));
    t.add_int(
        "log-every", "steps between progress lines", 1, big, true,
        REF(log_every));
#undef REF
    return t;
  }();
  return s;
}

}  // namespace

void add_gan_flags(ArgParser& cli, GanConfig& config) {
  settings().add_flags(cli, config);
}
nlohmann::json to_json(const GanConfig& config) {
  return settings().to_json(config);
}
GanConfig gan_config_from_json(const nlohmann::json& j) {
  return settings().from_json(j, "checkpoint config");
}
GanConfig merge_resumed_gan_config(
    const GanConfig& saved, const GanConfig& given, const ArgParser& cli) {
  return settings().merge_resumed(saved, given, cli);
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
  nlohmann::json hist = nlohmann::json::array();
  for (const GanStats& h : history_)
    hist.push_back(
        {h.step, h.critic_loss, h.wasserstein, h.penalty, h.generator_loss});
  save(
      path, *model_, opt_.get(),
      {{"format", kFormat},
       {"version", kVersion},
       {"config", to_json(config_)},
       {"step", step_},
       {"sampler", sampler_.state()},
       {"noise_generator", generator_state(noise_)},
       {"history", hist}});
}

GanConfig GanTrainer::peek_config(const std::string& path) {
  nn::Module nothing;  // strict off: verify the file, load no tensor
  const nlohmann::json meta =
      load(path, nothing, nullptr, LoadOptions{.strict = false});
  check_meta_format(meta, path, kFormat, kVersion);
  return gan_config_from_json(meta_field(meta, "config"));
}

void GanTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  try {
    const int64_t step = meta_step(meta, config_.steps);
    Generator noise = noise_;
    restore_generator(meta, noise);
    std::vector<GanStats> hist;
    const nlohmann::json& rows = meta_field(meta, "history");
    VOXGRAD_CHECK(
        rows.is_array(), "checkpoint metadata: 'history' must be a list of ",
        "[step, critic_loss, wasserstein, penalty, generator_loss] (got ",
        rows.type_name(), ")");
    for (const auto& row : rows) {
      VOXGRAD_CHECK(
          row.is_array() && row.size() == 5 && row[0].is_number_integer(),
          "checkpoint metadata: 'history': each entry must be [step, "
          "critic_loss, wasserstein, penalty, generator_loss] (got ",
          row.dump(), ")");
      const char* what = "'history'";
      hist.push_back(
          {row[0].get<int64_t>(), meta_number(row, 1, what),
           meta_number(row, 2, what), meta_number(row, 3, what),
           meta_number(row, 4, what)});
      VOXGRAD_CHECK(
          hist.back().step == static_cast<int64_t>(hist.size()),
          "checkpoint metadata: 'history': steps must run 1, 2, ... (entry ",
          hist.size(), " is step ", hist.back().step, ")");
    }
    VOXGRAD_CHECK(
        static_cast<int64_t>(hist.size()) == step,
        "checkpoint metadata: history has ", hist.size(), " entries for step ",
        step);
    sampler_.load_state(meta_field(meta, "sampler"));
    noise_ = noise;
    step_ = step;
    history_ = std::move(hist);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot resume from '") + path + "': " + e.what());
  }
}

}  // namespace voxgrad::examples
