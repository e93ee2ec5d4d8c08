// voxel_vae: trains a 3-D convolutional VAE on procedural voxel shapes and
// writes what it learned as pictures, meshes and a loss curve.
//
//   build/bin/voxel_vae --steps 1500 --out vae_out
//   build/bin/voxel_vae --resume vae_out/checkpoint.json   # continue it
//
// The last line on stdout is JSON: {"iou": ..., "loss": ..., "steps": ...,
// "seconds": ...}. `voxel_vae --help` lists every flag.

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "config.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "files.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "trainer.hpp"
#include "training_loop.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {

int run(int argc, const char* const* argv) {
  const Stopwatch clock;
  VaeConfig config;
  int64_t threads = num_threads(), stop_at = 0;
  std::string out = "voxel_vae_out", resume;
  bool no_pictures = false;
  ArgParser cli(
      "voxel_vae",
      "Trains a 3-D convolutional VAE on procedural voxel shapes (32^3\n"
      "spheres, boxes, tori, cylinders, capsules and unions), reports the\n"
      "held-out IoU and writes pictures, meshes and a loss curve to --out.");
  add_config_flags(cli, config);
  cli.add("threads", &threads, "worker threads", 1, 1024);
  cli.add("out", &out, "output folder (created)");
  cli.add(
      "resume", &resume,
      "checkpoint to continue from (its settings are kept; --steps and the "
      "other settings must match if given)");
  cli.add(
      "stop-at", &stop_at,
      "stop after this step with a checkpoint, as if interrupted (0: run "
      "to --steps)",
      0, 100'000'000);
  cli.add_switch(
      "no-pictures", &no_pictures, "skip pictures and meshes at the end");
  if (!cli.parse(argc, argv))
    return 0;
  set_num_threads(static_cast<int>(threads));

  // A resumed run reads and verifies the whole checkpoint before anything
  // is created or written, so a damaged file changes nothing on disk.
  if (!resume.empty())
    config = merge_resumed_config(VaeTrainer::peek_config(resume), config, cli);
  VaeTrainer trainer(config);
  if (!resume.empty()) {
    trainer.load_checkpoint(resume);
    trainer.set_cadence(config);
  }
  const int64_t stop = stop_at > 0 ? stop_at : config.steps;
  VOXGRAD_CHECK(
      stop <= config.steps && stop >= trainer.step(), "--stop-at ", stop_at,
      " must lie in [", trainer.step(), ", ", config.steps,
      "] (the checkpoint's step and --steps)");
  make_dirs(out);

  std::cout << "voxel_vae: " << trainer.model().num_parameters()
            << " parameters, width " << config.arch.width << ", latent "
            << config.arch.latent << "; data seed " << config.data_seed << ": "
            << config.train_size << " training and " << config.test_size
            << " held-out shapes of " << config.arch.resolution << "^3; batch "
            << config.batch << ", Adam lr " << config.lr << " ("
            << config.lr_schedule << "), beta " << config.beta << ", "
            << num_threads() << " threads" << std::endl;
  if (!resume.empty())
    std::cout << "resumed from " << resume << " at step " << trainer.step()
              << std::endl;

  const IouReport iou =
      train_loop(trainer, {.out_dir = out, .stop_at = stop, .log = &std::cout});
  if (!no_pictures)
    write_pictures(
        trainer.model(), trainer.data(), trainer.history(), out,
        static_cast<uint64_t>(config.seed));

  const auto& steps = trainer.history().steps;
  const nlohmann::ordered_json result = {
      {"iou", iou.mean},
      {"loss", steps.empty() ? 0.0 : steps.back().loss},
      {"steps", trainer.step()},
      {"seconds", clock.seconds()}};
  write_file_atomic(out + "/metrics.json", result.dump() + "\n");
  std::cout << "held-out IoU " << iou.mean << " over " << iou.shapes
            << " shapes (" << per_kind_text(iou) << "); outputs in " << out
            << "/" << std::endl;
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("voxel_vae", [&] { return run(argc, argv); });
}
