// voxel_gan3d: 3D-GAN (Wu et al. 2016) with the paper's architecture and
// hyper-parameters (model.hpp, trainer.hpp), on procedural shapes or on a
// folder of meshes or grids (--data path/to/ModelNet10).
//
//   build/bin/voxel_gan3d --data assets/meshes --res 32 --out gan3d_out
//   build/bin/voxel_gan3d --data ModelNet10 --cache /tmp/mn10   # 64^3, paper
//
// At every --eval-every steps and at the end it prints MMD-CD, COV-CD and
// 1-NNA of generated shapes against held-out shapes; the last line on
// stdout is JSON, also written to --out/metrics.json.

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "files.hpp"
#include "mesh.hpp"
#include "plot.hpp"
#include "progress.hpp"
#include "render.hpp"
#include "shape_metrics.hpp"
#include "step_profile.hpp"
#include "trainer.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/parallel.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {

// Generated shapes (eval mode: batch norm from running statistics) against
// the first held-out shapes. A fixed generator, so evaluations of one run
// compare like with like.
GenerationReport evaluate(Gan3dTrainer& t) {
  NoGradGuard no_grad;
  t.model().eval();
  const Gan3dConfig& c = t.config();
  const int64_t n = std::min(c.eval_samples, t.data().size(Split::Test));
  Generator gen(static_cast<uint64_t>(c.seed) + 4242);
  Tensor samples;
  for (int64_t b = 0; b < n; b += 16) {
    const Tensor s =
        t.model().generate(t.latents(std::min<int64_t>(16, n - b), gen));
    samples = samples.defined() ? cat({samples, s}, 0) : s;
  }
  t.model().train();
  return generation_report(
      samples, t.data().range(Split::Test, 0, n),
      {.points = c.eval_points, .seed = 3});
}

void write_outputs(Gan3dTrainer& t, const std::string& out) {
  NoGradGuard no_grad;
  t.model().eval();
  const Gan3dConfig& c = t.config();
  Generator gen(static_cast<uint64_t>(c.seed) + 99);
  const Tensor s = t.model().generate(t.latents(16, gen)).contiguous();
  View view{.size = 96};
  view.color = {110, 170, 110};
  write_png(out + "/samples.png", volume_grid(s, 8, view));
  const int64_t shown = std::min<int64_t>(16, t.data().size(Split::Train));
  write_png(
      out + "/real.png",
      volume_grid(t.data().range(Split::Train, 0, shown), 8, View{.size = 96}));
  const int64_t r = c.arch.resolution;
  for (int64_t i = 0; i < 4; ++i)
    write_file_atomic(
        out + "/sample_" + std::to_string(i) + ".obj",
        to_obj(
            surface_nets(s.data<float>() + i * r * r * r, r),
            "voxel_gan3d sample " + std::to_string(i)));
  Series d{"D loss", "#1f77b4", {}}, g{"G loss", "#ff7f0e", {}},
      acc{"D accuracy", "#2ca02c", {}};
  for (const Gan3dStats& h : t.history()) {
    d.points.emplace_back(static_cast<double>(h.step), h.d_loss);
    g.points.emplace_back(static_cast<double>(h.step), h.g_loss);
    acc.points.emplace_back(static_cast<double>(h.step), h.d_accuracy);
  }
  write_file_atomic(
      out + "/loss_curve.svg",
      loss_curve_svg(
          {d, g, acc, {"G loss (smoothed)", "#d62728", smoothed(g.points)}},
          "voxel_gan3d"));
  t.model().train();
}

int run(int argc, const char* const* argv) {
  const Stopwatch clock;
  Gan3dConfig config;
  int64_t threads = num_threads();
  std::string out = "voxel_gan3d_out", resume;
  ArgParser cli(
      "voxel_gan3d",
      "Trains 3D-GAN (Wu et al. 2016: z 200, five ConvTranspose3d k4 s2,\n"
      "BatchNorm3d + ReLU, sigmoid, 64^3; mirrored discriminator with\n"
      "LeakyReLU(0.2); Adam beta1 0.5, G lr 0.0025, D lr 1e-5, D updated only\n"
      "while its accuracy <= 0.8) on procedural shapes or --data; reports\n"
      "MMD-CD, COV-CD and 1-NNA against held-out shapes and writes samples,\n"
      "meshes, a loss curve, checkpoints and metrics.json to --out.");
  gan3d_settings().add_flags(cli, config);
  cli.add("threads", &threads, "worker threads", 1, 1024);
  cli.add("out", &out, "output folder (created)");
  cli.add("resume", &resume, "checkpoint to continue from");
  if (!cli.parse(argc, argv))
    return 0;
  VOXGRAD_CHECK(
      config.arch.resolution == 32 || config.arch.resolution == 64,
      "--res must be 32 or 64 (got ", config.arch.resolution, ")");
  set_num_threads(static_cast<int>(threads));
  if (!resume.empty())
    config = gan3d_settings().merge_resumed(
        Gan3dTrainer::peek_config(resume), config, cli);
  Gan3dTrainer t(config, &std::cout);
  if (!resume.empty()) {
    t.load_checkpoint(resume);
    t.set_cadence(config);
  }
  make_dirs(out);
  std::cout << "voxel_gan3d: generator "
            << t.model().generator().num_parameters() << " + discriminator "
            << t.model().discriminator().num_parameters() << " parameters, "
            << config.arch.resolution << "^3, width " << config.arch.width
            << ", z " << config.arch.latent << " (" << config.z_dist << "); "
            << t.data().describe() << ": " << t.data().size(Split::Train)
            << " training, " << t.data().size(Split::Test)
            << " held-out shapes; batch " << config.batch << ", G lr "
            << config.g_lr << ", D lr " << config.d_lr << ", " << num_threads()
            << " threads" << std::endl;
  const Eta eta(t.step(), config.steps);
  Stopwatch interval, training;
  double train_seconds = 0;
  int64_t done = 0, d_updates = 0, run_steps = 0;
  GenerationReport last;
  nlohmann::ordered_json evals = nlohmann::ordered_json::array();
  StepProfile profile(out);  // VOXGRAD_PROFILE=1
  while (t.step() < config.steps) {
    profile.before_step();
    const Gan3dStats s = t.train_step();
    profile.after_step();
    ++done;
    ++run_steps;
    d_updates += s.d_updated;
    if (s.step % config.log_every == 0 || s.step == config.steps) {
      char buf[256];
      std::snprintf(
          buf, sizeof buf,
          "step %5lld/%lld  D %7.4f  G %7.4f  D acc %.3f  D updated %lld/%lld  "
          "%.2f s/step  ETA %s",
          static_cast<long long>(s.step), static_cast<long long>(config.steps),
          s.d_loss, s.g_loss, s.d_accuracy, static_cast<long long>(d_updates),
          static_cast<long long>(done),
          interval.seconds() / static_cast<double>(done),
          eta.at(s.step, clock.seconds()).c_str());
      std::cout << buf << std::endl;
      interval.reset();
      done = d_updates = 0;
    }
    if (s.step % config.eval_every == 0 || s.step == config.steps) {
      train_seconds += training.seconds();
      last = evaluate(t);
      std::cout << "eval step " << s.step << ": " << text(last) << std::endl;
      evals.push_back({{"step", s.step}, {"generation", to_json(last)}});
      interval.reset();
      done = d_updates = 0;
      training.reset();
    }
    if (s.step % config.ckpt_every == 0 || s.step == config.steps)
      t.save_checkpoint(out + "/checkpoint.json");
  }
  if (last.samples == 0)
    last = evaluate(t);
  write_outputs(t, out);
  const nlohmann::ordered_json result = {
      {"generation", to_json(last)},
      {"steps", t.step()},
      {"seconds", clock.seconds()},
      {"seconds_per_step",
       run_steps > 0 ? train_seconds / static_cast<double>(run_steps) : 0.0},
      {"data", t.data().describe()},
      {"resolution", config.arch.resolution},
      {"evaluations", evals}};
  write_metrics(out, result);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("voxel_gan3d", [&] { return run(argc, argv); });
}
