#pragma once
// The metrics every example prints at evaluation and writes to
// metrics.json, computed with voxgrad::metrics on voxel grids:
// - reconstruction (the VAE): IoU at 0.5, Chamfer-L1/L2 and F-score between
//   surface points sampled from the reconstruction and from the input;
// - generation (the GANs, samples of the VAE): MMD-CD, COV-CD and 1-NNA
//   between generated shapes and held-out shapes.
// Points are in units of the grid's side (the grid spans [-1/2, 1/2]); the
// F-score's distance is one voxel (1 / resolution).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

struct MetricSettings {
  int64_t points = 1024;  // surface points per shape
  uint64_t seed = 0;      // of the point sampling
};

struct ReconstructionReport {
  double iou = 0, fscore = 0;  // means over all shapes
  /// Means over the shapes whose reconstruction has a surface: an empty one
  /// is infinitely far from its target (and scores F 0); it is counted in
  /// `empty` rather than turning the mean into inf.
  double chamfer_l1 = 0, chamfer_l2 = 0;
  int64_t shapes = 0, empty = 0;
};

/// Per-shape metrics of probabilities `pred` against 0/1 `target`, both
/// (N, 1, R, R, R), averaged; call again to accumulate (means are kept
/// exact by counting shapes).
void add_reconstructions(
    ReconstructionReport& report,
    const Tensor& pred,
    const Tensor& target,
    const MetricSettings& settings);

struct GenerationReport {
  double mmd_cd = 0, cov_cd = 0, nna_cd = 0;
  int64_t samples = 0, references = 0;
};

/// MMD-CD, COV-CD, 1-NNA of `samples` (probabilities, thresholded at 0.5)
/// against `references` (0/1), both (N, 1, R, R, R).
GenerationReport generation_report(
    const Tensor& samples,
    const Tensor& references,
    const MetricSettings& settings);

nlohmann::ordered_json to_json(const ReconstructionReport& r);
nlohmann::ordered_json to_json(const GenerationReport& g);
/// "IoU 0.912  CD-L1 0.0123  CD-L2 0.00031  F@1vox 0.87 (256 shapes)".
std::string text(const ReconstructionReport& r);
/// "MMD-CD 0.00213  COV-CD 0.53  1-NNA 0.71 (64 samples, 64 references)".
std::string text(const GenerationReport& g);

}  // namespace voxgrad::examples
