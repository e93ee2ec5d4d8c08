#include "config.hpp"

#include "example_settings.hpp"

namespace voxgrad::examples {

// Every setting once: flag, help, range, whether it may change on resume.
const Settings<VaeConfig>& vae_settings() {
  static const Settings<VaeConfig> s = [] {
    Settings<VaeConfig> t;
    const int64_t big = kMaxSettingCount;
#define REF(expr) [](VaeConfig& c) -> decltype(c.expr)& { return c.expr; }
    // A checkpoint keeps the whole loss history (about 140 bytes and 9 JSON
    // values a step at worst, with --eval-every 1), so that a resumed run
    // rewrites the same train_log.csv and loss curve: 250k steps stay well
    // inside what voxgrad::load reads back (64 MiB of metadata, 4 Mi values).
    t.add_int(
        "steps",
        "total optimizer steps of the run (at most 250000, so the "
        "checkpoint stays resumable)",
        1, 250'000, false, REF(steps));
    t.add_int("batch", "shapes per step", 1, 4096, false, REF(batch));
    add_seed_settings(t, "training shapes", "held-out shapes for the IoU");
    t.add_int(
        "resolution", "voxels per side (a multiple of 8)", 8, 128, false,
        REF(arch.resolution));
    t.add_int(
        "width", "channels of the first conv layer", 1, 256, false,
        REF(arch.width));
    t.add_int("latent", "latent dimensions", 1, 4096, false, REF(arch.latent));
    t.add_double("lr", "Adam learning rate (peak)", 0, 1, false, REF(lr));
    t.add_double("beta", "weight of the KL term", 0, 1000, false, REF(beta));
    t.add_choice(
        "lr-schedule",
        "learning rate over the run (brock: the first epoch at lr / 10)",
        {"cosine", "constant", "brock"}, REF(lr_schedule));
    t.add_choice(
        "layout", "network layout (see model.hpp)", {"default", "brock"},
        REF(arch.layout));
    t.add_choice("act", "hidden activation", {"lrelu", "elu"}, REF(arch.act));
    t.add_choice(
        "norm", "normalisation after each layer", {"none", "batch"},
        REF(arch.norm));
    t.add_choice(
        "inputs", "encoder input values: 01, or brock ({-1, 2})",
        {"01", "brock"}, REF(arch.inputs));
    t.add_choice(
        "reconstruction", "reconstruction loss", {"bce", "brock"},
        REF(reconstruction));
    t.add_double(
        "gamma", "weight of the positives in the brock loss", 0, 1, false,
        REF(gamma));
    t.add_choice(
        "optimizer", "adam, or nesterov (SGD, momentum 0.9)",
        {"adam", "nesterov"}, REF(optimizer));
    t.add_double(
        "weight-decay", "L2 weight decay", 0, 1, false, REF(weight_decay));
    t.add_choice(
        "augment", "training augmentations",
        {"none", "flips", "shifts", "flips+shifts"}, REF(augment));
    t.add_int(
        "max-shift", "largest circular shift of the augmentation, voxels", 0,
        16, false, REF(max_shift));
    add_source_settings(t);
    t.add_int(
        "eval-points", "surface points per shape for Chamfer and F-score", 16,
        1'000'000, true, REF(eval_points));
    t.add_int(
        "ckpt-every", "steps between checkpoints", 1, big, true,
        REF(ckpt_every));
    t.add_int(
        "eval-every", "steps between held-out IoU evaluations", 1, big, true,
        REF(eval_every));
    t.add_int(
        "log-every", "steps between progress lines", 1, big, true,
        REF(log_every));
#undef REF
    return t;
  }();
  return s;
}

void apply_recipe(
    const std::string& recipe, VaeConfig& c, const ArgParser& cli) {
  if (recipe != "brock")
    return;
  auto set = [&](const char* flag, auto& field, auto value) {
    if (!cli.given(flag))
      field = value;
  };
  set("layout", c.arch.layout, std::string("brock"));
  set("act", c.arch.act, std::string("elu"));
  set("norm", c.arch.norm, std::string("batch"));
  set("inputs", c.arch.inputs, std::string("brock"));
  set("latent", c.arch.latent, int64_t{100});
  set("reconstruction", c.reconstruction, std::string("brock"));
  set("gamma", c.gamma, 0.97);
  set("optimizer", c.optimizer, std::string("nesterov"));
  set("lr", c.lr, 1e-3);
  set("lr-schedule", c.lr_schedule, std::string("brock"));
  set("weight-decay", c.weight_decay, 1e-3);
  set("batch", c.batch, int64_t{64});
  set("augment", c.augment, std::string("flips+shifts"));
  set("max-shift", c.max_shift, int64_t{2});
}

}  // namespace voxgrad::examples
