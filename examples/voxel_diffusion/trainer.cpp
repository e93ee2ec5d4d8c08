#include "trainer.hpp"

#include <cmath>

#include "resume_meta.hpp"
#include "settings.hpp"
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

const Settings<DiffusionConfig>& settings() {
  static const Settings<DiffusionConfig> s = [] {
    Settings<DiffusionConfig> t;
    const int64_t big = 100'000'000, seed_max = int64_t{1} << 62;
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
        "warmup", "steps of linear lr warm-up (0: none)", 0, big, false,
        REF(warmup));
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
    t.add_int(
        "seed", "seed of initialisation, noise and data order", 0, seed_max,
        false, REF(seed));
    t.add_int(
        "data-seed", "seed of the procedural data set", 0, seed_max, false,
        REF(data_seed));
    t.add_int(
        "train-size", "procedural training shapes", 1, big, false,
        REF(train_size));
    t.add_int(
        "test-size", "procedural held-out shapes", 1, 1'000'000, false,
        REF(test_size));
    t.add_text("data", kDataFlagHelp, false, REF(source.folder));
    t.add_text("cache", kCacheFlagHelp, true, REF(source.cache));
    t.add_choice("up", kUpFlagHelp, {"z", "y"}, REF(source.up));
    t.add_choice("fill", kFillFlagHelp, {"flood", "winding"}, REF(source.fill));
    t.add_int(
        "ckpt-every", "steps between checkpoints", 1, big, true,
        REF(ckpt_every));
    t.add_int(
        "log-every", "steps between progress lines", 1, big, true,
        REF(log_every));
    t.add_int(
        "eval-every", "steps between MMD/COV/1-NNA evaluations", 1, big, true,
        REF(eval_every));
    t.add_int(
        "eval-samples", "samples and held-out shapes per evaluation", 2, 100000,
        true, REF(eval_samples));
    t.add_int(
        "eval-points", "surface points per shape for the Chamfer distance", 16,
        1'000'000, true, REF(eval_points));
#undef REF
    return t;
  }();
  return s;
}

uint64_t noise_seed(int64_t seed) {
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + 0x444446ULL;
}

}  // namespace

void add_diffusion_flags(ArgParser& cli, DiffusionConfig& config) {
  settings().add_flags(cli, config);
}
nlohmann::json to_json(const DiffusionConfig& config) {
  return settings().to_json(config);
}
DiffusionConfig diffusion_config_from_json(const nlohmann::json& j) {
  DiffusionConfig c = settings().from_json(j, "checkpoint config");
  finish_config(c);
  return c;
}
DiffusionConfig merge_resumed_diffusion_config(
    const DiffusionConfig& saved,
    const DiffusionConfig& given,
    const ArgParser& cli) {
  DiffusionConfig c = settings().merge_resumed(saved, given, cli);
  finish_config(c);
  return c;
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
  nlohmann::json hist = nlohmann::json::array();
  for (const DiffusionStats& h : history_)
    hist.push_back({h.step, h.loss, h.lr, h.grad_norm});
  save(
      path, *model_, opt_.get(),
      {{"format", kFormat},
       {"version", kVersion},
       {"config", to_json(config_)},
       {"step", step_},
       {"sampler", sampler_.state()},
       {"noise_generator", generator_state(noise_)},
       {"scheduler", sched_ ? sched_->state_dict() : nlohmann::json()},
       {"history", hist}});
}

DiffusionConfig DiffusionTrainer::peek_config(const std::string& path) {
  nn::Module nothing;  // strict off: verify the file, load no tensor
  const nlohmann::json meta =
      load(path, nothing, nullptr, LoadOptions{.strict = false});
  check_meta_format(meta, path, kFormat, kVersion);
  return diffusion_config_from_json(meta_field(meta, "config"));
}

void DiffusionTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  try {
    const int64_t step = meta_step(meta, config_.steps);
    Generator noise = noise_;
    restore_generator(meta, noise);
    std::vector<DiffusionStats> hist;
    for (const auto& row : meta_field(meta, "history")) {
      VOXGRAD_CHECK(
          row.is_array() && row.size() == 4 && row[0].is_number_integer(),
          "checkpoint metadata: each history entry must be [step, loss, lr, "
          "grad_norm] (got ",
          row.dump(), ")");
      hist.push_back(
          {row[0].get<int64_t>(), meta_number(row, 1, "history"),
           meta_number(row, 2, "history"), meta_number(row, 3, "history")});
      VOXGRAD_CHECK(
          hist.back().step == static_cast<int64_t>(hist.size()),
          "checkpoint metadata: history steps must run 1, 2, ... (entry ",
          hist.size(), " is step ", hist.back().step, ")");
    }
    VOXGRAD_CHECK(
        static_cast<int64_t>(hist.size()) == step,
        "checkpoint metadata: ", "history has ", hist.size(),
        " entries for step ", step);
    sampler_.load_state(meta_field(meta, "sampler"));
    if (sched_)
      sched_->load_state_dict(meta_field(meta, "scheduler"));
    noise_ = noise;
    step_ = step;
    history_ = std::move(hist);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot resume from '") + path + "': " + e.what());
  }
}

}  // namespace voxgrad::examples
