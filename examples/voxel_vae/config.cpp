#include "config.hpp"

#include "settings.hpp"

namespace voxgrad::examples {
namespace {

// Every setting once: flag, help, range, whether it may change on resume.
const Settings<VaeConfig>& settings() {
  static const Settings<VaeConfig> s = [] {
    Settings<VaeConfig> t;
    const int64_t big = 100'000'000, seed_max = int64_t{1} << 62;
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
    t.add_int(
        "seed", "seed of initialisation, noise and data order", 0, seed_max,
        false, REF(seed));
    t.add_int(
        "data-seed", "seed of the procedural data set", 0, seed_max, false,
        REF(data_seed));
    t.add_int("train-size", "training shapes", 1, big, false, REF(train_size));
    t.add_int(
        "test-size", "held-out shapes for the IoU", 1, 1'000'000, false,
        REF(test_size));
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
        "lr-schedule", "learning rate over the run", {"cosine", "constant"},
        REF(lr_schedule));
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

}  // namespace

void add_config_flags(ArgParser& cli, VaeConfig& config) {
  settings().add_flags(cli, config);
}

nlohmann::json to_json(const VaeConfig& config) {
  return settings().to_json(config);
}

VaeConfig config_from_json(const nlohmann::json& j) {
  return settings().from_json(j, "checkpoint config");
}

VaeConfig merge_resumed_config(
    const VaeConfig& saved, const VaeConfig& cli_config, const ArgParser& cli) {
  return settings().merge_resumed(saved, cli_config, cli);
}

}  // namespace voxgrad::examples
