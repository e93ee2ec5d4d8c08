// voxel_vae: trains a 3-D convolutional VAE on procedural voxel shapes and
// writes what it learned as pictures, meshes and a loss curve.
//
//   build/bin/voxel_vae --steps 1500 --out vae_out
//   build/bin/voxel_vae --resume vae_out/checkpoint.json   # continue it
//   mpirun -n 2 build/bin/voxel_vae --distributed            # data-parallel
//
// The last line on stdout is JSON: {"iou": ..., "loss": ..., "steps": ...,
// "seconds": ...}. `voxel_vae --help` lists every flag.

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "config.hpp"
#include "distributed.hpp"
#include "files.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "trainer.hpp"
#include "training_loop.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {

int run(int argc, const char* const* argv) {
  const Stopwatch clock;
  VaeConfig config;
  int64_t threads = num_threads(), stop_at = 0;
  std::string out = "voxel_vae_out", resume;
  bool no_pictures = false, distributed = false;
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
  cli.add_switch(
      "distributed", &distributed,
      "data-parallel training over the processes of mpirun (each takes a "
      "share of --batch; rank 0 prints and writes)");
  if (!cli.parse(argc, argv))
    return 0;
  set_num_threads(static_cast<int>(threads));
  std::unique_ptr<DistributedRun> dist;
  if (distributed) {
    dist = std::make_unique<DistributedRun>();
    if (!cli.given("threads"))  // share the host's cores between its ranks
      set_num_threads(dist->threads_per_rank());
  }

  // A resumed run reads and verifies the whole checkpoint before anything
  // is created or written, so a damaged file changes nothing on disk.
  if (!resume.empty())
    config = merge_resumed_config(VaeTrainer::peek_config(resume), config, cli);
  VaeTrainer trainer(
      config, dist ? dist->data_parallel(config.batch) : DataParallel{});
  if (!resume.empty()) {
    trainer.load_checkpoint(resume);
    trainer.set_cadence(config);
  }
  if (dist)
    dist->attach(trainer.model());
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
  if (dist)
    std::cout << "data-parallel over " << dist->world()
              << " MPI processes, each with a share of the batch" << std::endl;
  if (!resume.empty())
    std::cout << "resumed from " << resume << " at step " << trainer.step()
              << std::endl;

  const IouReport iou =
      train_loop(trainer, {.out_dir = out, .stop_at = stop, .log = &std::cout});
  VOXGRAD_CHECK(
      !dist || dist->replicas_identical(),
      "voxel_vae: the processes' models differ after training");
  const bool main_rank = !dist || dist->is_main();
  if (!no_pictures && main_rank)
    write_pictures(
        trainer.model(), trainer.data(), trainer.history(), out,
        static_cast<uint64_t>(config.seed));

  const auto& steps = trainer.history().steps;
  const nlohmann::ordered_json result = {
      {"iou", iou.mean},
      {"loss", steps.empty() ? 0.0 : steps.back().loss},
      {"steps", trainer.step()},
      {"seconds", clock.seconds()}};
  if (main_rank)
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
