#pragma once
// The settings the training examples (voxel_vae, voxel_gan3d, voxel_wgan_gp,
// voxel_diffusion) have in common, declared once for all of them in their
// Settings tables (settings.hpp): the seeds and procedural data set sizes,
// the data source, and the cadence of checkpoints, progress lines and
// generation metrics. Each group registers its flags in the order the
// examples list them in --help, with their ranges, help and resume rules; a
// Config has the fields a group names.
//
//   add_seed_settings(t, "training shapes", "held-out shapes");
//   add_source_settings(t);  // --data, --cache, --up, --fill

#include <cstdint>

#include "settings.hpp"
#include "voxel_dataset.hpp"

namespace voxgrad::examples {

/// The largest step count and procedural set size the examples accept.
inline constexpr int64_t kMaxSettingCount = 100'000'000;

/// --seed, --data-seed, --train-size and --test-size (the procedural set's:
/// a --data folder has its own items and split); the sizes' help says what
/// the example uses them for. Config: seed, data_seed, train_size, test_size.
template <class Config>
void add_seed_settings(
    Settings<Config>& s, const char* train_help, const char* test_help) {
  const int64_t seed_max = int64_t{1} << 62;
  s.add_int(
      "seed", "seed of initialisation, noise and data order", 0, seed_max,
      false, [](Config& c) -> int64_t& { return c.seed; });
  s.add_int(
      "data-seed", "seed of the procedural data set", 0, seed_max, false,
      [](Config& c) -> int64_t& { return c.data_seed; });
  s.add_int(
      "train-size", train_help, 1, kMaxSettingCount, false,
      [](Config& c) -> int64_t& { return c.train_size; });
  s.add_int(
      "test-size", test_help, 1, 1'000'000, false,
      [](Config& c) -> int64_t& { return c.test_size; });
}

/// --data, --cache (which may change on resume: the same items, elsewhere),
/// --up and --fill. Config: source (a DataSource).
template <class Config>
void add_source_settings(Settings<Config>& s) {
  s.add_text("data", kDataFlagHelp, false, [](Config& c) -> std::string& {
    return c.source.folder;
  });
  s.add_text("cache", kCacheFlagHelp, true, [](Config& c) -> std::string& {
    return c.source.cache;
  });
  s.add_choice("up", kUpFlagHelp, {"z", "y"}, [](Config& c) -> std::string& {
    return c.source.up;
  });
  s.add_choice(
      "fill", kFillFlagHelp, {"flood", "winding"},
      [](Config& c) -> std::string& { return c.source.fill; });
}

/// --ckpt-every and --log-every (cadence: they may change on resume).
/// Config: ckpt_every, log_every.
template <class Config>
void add_checkpoint_cadence(Settings<Config>& s) {
  s.add_int(
      "ckpt-every", "steps between checkpoints", 1, kMaxSettingCount, true,
      [](Config& c) -> int64_t& { return c.ckpt_every; });
  s.add_int(
      "log-every", "steps between progress lines", 1, kMaxSettingCount, true,
      [](Config& c) -> int64_t& { return c.log_every; });
}

/// --eval-points: surface points per shape for the Chamfer distance of the
/// generation metrics (cadence). Config: eval_points.
template <class Config>
void add_eval_points_setting(Settings<Config>& s) {
  s.add_int(
      "eval-points", "surface points per shape for the Chamfer distance", 16,
      1'000'000, true, [](Config& c) -> int64_t& { return c.eval_points; });
}

/// --eval-every, --eval-samples and --eval-points: how often MMD/COV/1-NNA
/// are computed during training, on how many samples (cadence, all three).
/// Config: eval_every, eval_samples, eval_points.
template <class Config>
void add_generation_eval_settings(Settings<Config>& s) {
  s.add_int(
      "eval-every", "steps between MMD/COV/1-NNA evaluations", 1,
      kMaxSettingCount, true,
      [](Config& c) -> int64_t& { return c.eval_every; });
  s.add_int(
      "eval-samples", "samples and held-out shapes per evaluation", 2, 100000,
      true, [](Config& c) -> int64_t& { return c.eval_samples; });
  add_eval_points_setting(s);
}

}  // namespace voxgrad::examples
