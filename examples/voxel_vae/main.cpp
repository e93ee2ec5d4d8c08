// voxel_vae: trains a 3-D convolutional VAE on procedural voxel shapes and
// writes what it learned as pictures, meshes and a loss curve.
//
//   build/bin/voxel_vae --steps 1500 --out vae_out
//   build/bin/voxel_vae --resume vae_out/checkpoint.json   # continue it
//   mpirun -n 2 build/bin/voxel_vae --distributed            # data-parallel
//
//   build/bin/voxel_vae --data path/to/ModelNet10 --recipe brock
//
// The last line on stdout is JSON, also written to metrics.json: {"iou":
// ..., "loss": ..., "steps": ..., "seconds": ..., "reconstruction": {...},
// "generation": {...}}. `voxel_vae --help` lists every flag.

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
  std::string out = "voxel_vae_out", resume, recipe = "none";
  int64_t eval_samples = 32;
  bool no_pictures = false, distributed = false;
  ArgParser cli(
      "voxel_vae",
      "Trains a 3-D convolutional VAE on procedural voxel shapes (32^3\n"
      "spheres, boxes, tori, cylinders, capsules and unions) or on a folder\n"
      "of meshes or grids (--data, e.g. ModelNet10), reports held-out IoU,\n"
      "Chamfer distances, F-score and MMD/COV/1-NNA of samples, and writes\n"
      "pictures, meshes, a loss curve and metrics.json to --out.");
  vae_settings().add_flags(cli, config);
  cli.add(
      "recipe", &recipe,
      "preset: brock (Brock et al. 2016's VAE: see config.hpp); flags given "
      "explicitly override it",
      {"none", "brock"});
  cli.add(
      "eval-samples", &eval_samples,
      "samples and held-out shapes for MMD-CD / COV-CD / 1-NNA at the end", 2,
      100000);
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
  apply_recipe(recipe, config, cli);
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
    config = vae_settings().merge_resumed(
        VaeTrainer::peek_config(resume), config, cli);
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
            << " parameters, layout " << config.arch.layout << ", width "
            << config.arch.width << ", latent " << config.arch.latent << "; "
            << trainer.data().describe() << ": "
            << trainer.data().size(Split::Train) << " training and "
            << trainer.data().size(Split::Test) << " held-out shapes of "
            << config.arch.resolution << "^3; batch " << config.batch << ", "
            << (config.optimizer == "adam" ? "Adam" : "SGD-Nesterov") << " lr "
            << config.lr << " (" << config.lr_schedule << "), beta "
            << config.beta << ", " << num_threads() << " threads" << std::endl;
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

  GenerationReport gen;
  if (main_rank) {
    gen = sample_metrics(
        trainer.model(), trainer.data(), eval_samples, config.eval_points,
        static_cast<uint64_t>(config.seed));
    std::cout << "samples vs held-out shapes: " << text(gen) << std::endl;
  }
  const auto& steps = trainer.history().steps;
  const nlohmann::ordered_json result = {
      {"iou", iou.mean},
      {"loss", steps.empty() ? 0.0 : steps.back().loss},
      {"steps", trainer.step()},
      {"seconds", clock.seconds()},
      {"data", trainer.data().describe()},
      {"reconstruction", to_json(iou.surface)},
      {"generation", to_json(gen)}};
  if (main_rank)
    write_file_atomic(out + "/metrics.json", result.dump() + "\n");
  std::cout << "held-out IoU " << iou.mean << " over " << iou.shapes
            << " shapes (" << per_kind_text(iou) << "); " << text(iou.surface)
            << "; outputs in " << out << "/" << std::endl;
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("voxel_vae", [&] { return run(argc, argv); });
}
