#pragma once
// Everything that defines a voxel_vae training run, as one struct: the CLI
// fills it, a checkpoint stores it, and a resumed run takes it back from
// the checkpoint (a flag given again must agree with it, so a resumed run
// is the same run).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "model.hpp"
#include "settings.hpp"
#include "voxel_dataset.hpp"

namespace voxgrad::examples {

struct VaeConfig {
  VaeArch arch;
  // Data: the procedural set is a pure function of data_seed and the
  // sizes; a folder (--data) has its own items and split.
  int64_t data_seed = 1;
  int64_t train_size = 20000;
  int64_t test_size = 256;
  DataSource source;
  std::string augment = "none";  // none | flips | shifts | flips+shifts
  int64_t max_shift = 2;         // voxels, circular
  // Optimisation.
  int64_t steps = 4000;
  int64_t batch = 16;
  double lr = 2e-3;
  double beta = 1.0;                   // weight of the KL term
  std::string reconstruction = "bce";  // bce | brock (weighted, {-1, 2})
  double gamma = 0.97;                 // brock's weight of the positives
  std::string optimizer = "adam";      // adam | nesterov (SGD, momentum 0.9)
  double weight_decay = 0;
  std::string lr_schedule = "cosine";  // cosine | constant | brock
  int64_t seed = 0;                    // initialisation, noise and data order
  // Cadence (not part of what makes runs identical, but kept with them).
  int64_t ckpt_every = 250;
  int64_t eval_every = 500;
  int64_t log_every = 50;
  int64_t eval_points = 1024;  // surface points per shape for Chamfer / F
};

/// --recipe brock: Brock et al. 2016's VAE (their VAE.py and paper): layout
/// "brock", ELU, batch norm everywhere, inputs {-1, 2}, the weighted BCE
/// with gamma 0.97, latent 100, SGD with Nesterov momentum 0.9, lr 0.001
/// after a first epoch at 0.0001, L2 weight decay 0.001, batch 64, flips
/// and circular shifts of up to 2 voxels. Flags given explicitly win.
void apply_recipe(
    const std::string& recipe, VaeConfig& config, const ArgParser& cli);

/// Every field as a flag ("--steps", "--batch", ...), as checkpoint JSON
/// (read back with a voxgrad::Error naming the first missing or invalid
/// field) and the resume rule: a resumed run takes the checkpoint's
/// settings with the cadence flags the user gave; any other flag given must
/// equal the saved value (see settings.hpp).
const Settings<VaeConfig>& vae_settings();

}  // namespace voxgrad::examples
