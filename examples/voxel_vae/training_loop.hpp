#pragma once
// The loop around VaeTrainer::train_step: progress lines (step, loss terms,
// voxels per second, ETA), held-out IoU every eval_every steps, and a
// checkpoint plus loss log every ckpt_every steps and at the end. Only the
// main rank prints and writes; every rank steps.

#include <cstdint>
#include <iosfwd>
#include <string>

#include "report.hpp"
#include "trainer.hpp"

namespace voxgrad::examples {

struct LoopOptions {
  /// Where checkpoint.json and train_log.csv go (must exist).
  std::string out_dir;
  /// Stop after this step (an interruption on purpose); 0 = config.steps.
  int64_t stop_at = 0;
  /// Progress goes here on the main rank; null for silence.
  std::ostream* log = nullptr;
};

/// Trains from trainer.step() to the stop step; returns the held-out IoU
/// at the stop step.
IouReport train_loop(VaeTrainer& trainer, const LoopOptions& options);

/// Path of the checkpoint the loop writes in `dir`.
std::string checkpoint_path(const std::string& dir);

}  // namespace voxgrad::examples
