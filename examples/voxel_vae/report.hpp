#pragma once
// What a person looks at after training: held-out IoU (overall and per
// shape kind), pictures of held-out inputs beside their reconstructions and
// of random samples, sample meshes, the loss curve and the loss log.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model.hpp"
#include "shape_metrics.hpp"
#include "trainer.hpp"
#include "voxel_dataset.hpp"

namespace voxgrad::examples {

struct IouReport {
  double mean = 0;  // mean over held-out shapes of |pred & x| / |pred | x|
  std::vector<std::pair<std::string, double>> per_kind;  // per class
  int64_t shapes = 0;
  /// IoU again, and Chamfer-L1/L2 and F-score of the surfaces.
  ReconstructionReport surface;
};

/// IoU at threshold 0.5 (logit > 0) of the deterministic reconstruction
/// decode(mu(x)) over the whole held-out split, per class, with the
/// surface metrics (shape_metrics.hpp; `points` per shape).
IouReport held_out_iou(
    VoxelVAE& model, const VoxelDataset& data, int64_t points = 1024);

/// "sphere 0.95, box 0.93, ...".
std::string per_kind_text(const IouReport& r);

/// MMD-CD, COV-CD and 1-NNA of `count` samples (z from a Gaussian fitted to
/// training codes, as samples.png) against the first `count` held-out
/// shapes.
GenerationReport sample_metrics(
    VoxelVAE& model,
    const VoxelDataset& data,
    int64_t count,
    int64_t points,
    uint64_t seed);

/// Writes into `dir`: reconstructions.png, samples.png (z from a Gaussian
/// fitted to training codes), samples_prior.png (z ~ N(0, I)),
/// sample_<i>.obj (i < 4, of samples.png) and loss_curve.svg. Draws come
/// from a generator seeded with `seed`, so successive runs draw alike.
void write_pictures(
    VoxelVAE& model,
    const VoxelDataset& data,
    const TrainHistory& history,
    const std::string& dir,
    uint64_t seed);

/// train_log.csv: "step,loss,rec,kl,lr", one row per step, each number with
/// 17 significant digits (compare two runs with cmp: equal iff bit-equal).
void write_loss_log(const TrainHistory& history, const std::string& path);

}  // namespace voxgrad::examples
