#include "trainer.hpp"

#include "example_settings.hpp"
#include "resume_meta.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/nn/loss.hpp"

namespace voxgrad::examples {
namespace {

constexpr const char* kFormat = "voxel_gan3d";
constexpr int kVersion = 1;

// The history in checkpoints, one row per step:
// [step, d_loss, g_loss, d_accuracy, d_updated].
const HistoryRows<Gan3dStats>& history_rows() {
  static const HistoryRows<Gan3dStats> rows{
      5, "[step, d_loss, g_loss, d_accuracy, d_updated]",
      [](const Gan3dStats& h) -> nlohmann::json {
        return {h.step, h.d_loss, h.g_loss, h.d_accuracy, h.d_updated};
      },
      [](const nlohmann::json& row) {
        VOXGRAD_CHECK(
            row[4].is_boolean(), "checkpoint metadata: 'history': entry 4 of ",
            row.dump(), " must be true or false");
        return Gan3dStats{
            row[0].get<int64_t>(), meta_number(row, 1, "'history'"),
            meta_number(row, 2, "'history'"), meta_number(row, 3, "'history'"),
            row[4].get<bool>()};
      }};
  return rows;
}

}  // namespace

const Settings<Gan3dConfig>& gan3d_settings() {
  static const Settings<Gan3dConfig> s = [] {
    Settings<Gan3dConfig> t;
#define REF(expr) [](Gan3dConfig& c) -> decltype(c.expr)& { return c.expr; }
    t.add_int(
        "steps",
        "training iterations (at most 250000, so the checkpoint, which keeps "
        "the history of every step, stays loadable)",
        1, 250'000, false, REF(steps));
    t.add_int(
        "batch", "shapes per batch (paper: 100)", 2, 4096, false, REF(batch));
    t.add_int(
        "res", "voxels per side: 64 (paper) or 32", 32, 64, false,
        REF(arch.resolution));
    t.add_int(
        "width", "w: channels 8w, 4w, 2w, w (paper: 64)", 1, 256, false,
        REF(arch.width));
    t.add_int(
        "latent", "z dimensions (paper: 200)", 1, 4096, false,
        REF(arch.latent));
    t.add_double(
        "g-lr", "generator Adam lr (paper: 0.0025)", 0, 1, false, REF(g_lr));
    t.add_double(
        "d-lr", "discriminator Adam lr (paper: 1e-5)", 0, 1, false, REF(d_lr));
    t.add_double(
        "beta1", "Adam beta1 (paper: 0.5)", 0, 0.999999, false, REF(beta1));
    t.add_double(
        "d-threshold",
        "update D only while its batch accuracy is <= this (paper: 0.8)", 0, 1,
        false, REF(d_threshold));
    t.add_choice(
        "z-dist",
        "latent distribution: uniform U(0,1) (the release) or "
        "normal N(0, 0.33^2)",
        {"uniform", "normal"}, REF(z_dist));
#undef REF
    add_seed_settings(
        t, "procedural training shapes", "procedural held-out shapes");
    add_source_settings(t);
    add_checkpoint_cadence(t);
    add_generation_eval_settings(t);
    return t;
  }();
  return s;
}

Gan3dTrainer::Gan3dTrainer(const Gan3dConfig& config, std::ostream* log)
    : config_(config),
      data_(
          {static_cast<uint64_t>(config.data_seed), config.arch.resolution,
           config.train_size, config.test_size, config.source, log}),
      model_([&] {
        manual_seed(static_cast<uint64_t>(config.seed));
        return std::make_shared<Gan3d>(config.arch);
      }()),
      sampler_(data_.size(Split::Train), static_cast<uint64_t>(config.seed)),
      noise_(static_cast<uint64_t>(config.seed) * 0x9E3779B97F4A7C15ULL + 3) {
  // One Adam over two groups with their own learning rates, so one
  // checkpoint holds both; each phase steps only its network's group (the
  // other network's gradients are cleared, and Adam skips parameters
  // without a gradient).
  const auto adam = [&](double lr) {
    return optim::AdamOptions(lr).betas({config.beta1, 0.999});
  };
  opt_ = std::make_unique<optim::Adam>(
      std::vector<optim::ParamGroup>{
          optim::ParamGroup(
              model_->generator().parameters(), adam(config.g_lr)),
          optim::ParamGroup(
              model_->discriminator().parameters(), adam(config.d_lr))},
      adam(config.g_lr));
}

Tensor Gan3dTrainer::latents(int64_t n, Generator& gen) const {
  const int64_t z = config_.arch.latent;
  return config_.z_dist == "normal" ? normal({n, z}, 0, 0.33, kFloat32, &gen)
                                    : rand({n, z}, kFloat32, &gen);
}

Gan3dStats Gan3dTrainer::train_step() {
  namespace F = nn::functional;
  const int64_t b = config_.batch;
  Gan3dStats s;
  const Tensor real = data_.batch(Split::Train, sampler_.next_batch(b));
  Tensor fake;
  {
    NoGradGuard no_grad;  // the D phase does not train G
    fake = model_->generate(latents(b, noise_));
  }
  const Tensor ones = full({b, 1}, 1.0), zeros_ = zeros({b, 1});
  opt_->zero_grad();
  const Tensor d_real = model_->discriminate(real);
  const Tensor d_fake = model_->discriminate(fake);
  const Tensor d_loss = F::binary_cross_entropy_with_logits(d_real, ones) +
                        F::binary_cross_entropy_with_logits(d_fake, zeros_);
  // Accuracy: real scored > 1/2 (logit > 0), generated scored < 1/2.
  const std::vector<float> r = d_real.to_vector<float>(),
                           f = d_fake.to_vector<float>();
  double correct = 0;
  for (int64_t i = 0; i < b; ++i)
    correct += (r[static_cast<size_t>(i)] > 0 ? 1 : 0) +
               (f[static_cast<size_t>(i)] < 0 ? 1 : 0);
  s.d_accuracy = correct / static_cast<double>(2 * b);
  s.d_loss = d_loss.item();
  if (s.d_accuracy <= config_.d_threshold) {
    d_loss.backward();
    opt_->step();  // only D has gradients here
    s.d_updated = true;
  }
  opt_->zero_grad();
  const Tensor g_logits =
      model_->discriminate(model_->generate(latents(b, noise_)));
  const Tensor g_loss = F::binary_cross_entropy_with_logits(g_logits, ones);
  g_loss.backward();
  model_->discriminator().zero_grad();  // only G learns here
  opt_->step();
  s.g_loss = g_loss.item();
  s.step = ++step_;
  history_.push_back(s);
  return s;
}

void Gan3dTrainer::save_checkpoint(const std::string& path) const {
  save(
      path, *model_, opt_.get(),
      with_history(
          loop_meta(
              kFormat, kVersion, gan3d_settings().to_json(config_), step_,
              sampler_, noise_),
          history_, history_rows()));
}

Gan3dConfig Gan3dTrainer::peek_config(const std::string& path) {
  return saved_config(gan3d_settings(), path, kFormat, kVersion);
}

void Gan3dTrainer::load_checkpoint(const std::string& path) {
  const nlohmann::json meta = load(path, *model_, opt_.get());
  restore_loop(
      path, meta, config_.steps, history_rows(), sampler_, noise_, step_,
      history_);
}

}  // namespace voxgrad::examples
