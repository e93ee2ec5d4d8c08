// voxel_wgan_gp: a small 3-D WGAN-GP on procedural voxel shapes. Its
// gradient penalty differentiates a gradient, so every critic step runs
// double backward through Conv3d and ConvTranspose3d.
//
//   build/bin/voxel_wgan_gp --out gan_out             # 1500 steps, ~5 min
//   build/bin/voxel_wgan_gp --check-gp --steps 2     # penalty gradient vs FD
//
// The last line on stdout is JSON, also written to --out/metrics.json:
// {"generation": {MMD-CD, COV-CD, 1-NNA}, "wasserstein": ..., "steps":
// ..., "seconds": ...} (and "gp_check_max_error" with --check-gp).

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "files.hpp"
#include "gradient_penalty.hpp"
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

// d penalty / d critic weights (double backward) against central
// differences, on the run's own critic converted to float64 for the check.
PenaltyCheck run_penalty_check(GanTrainer& t) {
  nn::Module& critic = t.model().critic();
  const int64_t r = t.config().arch.resolution;
  Generator gen(12345);
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = t.model()
               .generate(randn({2, t.config().arch.latent}, kFloat32, &gen))
               .to(kFloat64);
  }
  // Two real shapes (the same one twice when --train-size is 1).
  const int64_t second = std::min<int64_t>(1, t.data().size(Split::Train) - 1);
  const Tensor real = t.data().batch(Split::Train, {0, second}).to(kFloat64);
  const Tensor alpha = rand({2, 1, 1, 1, 1}, kFloat64, &gen);
  critic.to(kFloat64);
  std::cout << "gradient penalty check: d penalty / d critic weights "
               "(double backward) vs central differences, float64, batch 2, "
            << r << "^3\n";
  const PenaltyCheck c = check_penalty_gradient(
      [&](const Tensor& x) { return t.model().critique(x); },
      critic.parameters(), real, fake, alpha, t.config().lambda, 3, 7);
  critic.to(kFloat32);  // float32 -> float64 -> float32 is exact
  std::cout << "gradient penalty check: " << c.entries
            << " entries, max |error| " << c.max_abs_error
            << ", max relative error " << c.max_rel_error
            << (c.ok ? ": OK" : ": FAILED") << std::endl;
  return c;
}

// Generated shapes against the first held-out shapes (eval mode).
GenerationReport evaluate(GanTrainer& t) {
  NoGradGuard no_grad;
  t.model().eval();
  const GanConfig& c = t.config();
  const int64_t n = std::min(c.eval_samples, t.data().size(Split::Test));
  Generator gen(static_cast<uint64_t>(c.seed) + 4242);
  const Tensor s =
      t.model().generate(randn({n, c.arch.latent}, kFloat32, &gen));
  t.model().train();
  return generation_report(
      s, t.data().range(Split::Test, 0, n),
      {.points = c.eval_points, .seed = 3});
}

void write_outputs(GanTrainer& t, const std::string& out) {
  NoGradGuard no_grad;
  t.model().eval();  // batch norm from running statistics
  Generator gen(static_cast<uint64_t>(t.config().seed) + 99);
  const Tensor s =
      t.model().generate(randn({16, t.config().arch.latent}, kFloat32, &gen));
  View view{.size = 96};
  view.color = {110, 170, 110};
  write_png(out + "/samples.png", volume_grid(s, 8, view));
  write_png(
      out + "/real.png",
      volume_grid(
          t.data().range(
              Split::Train, 0,
              std::min<int64_t>(16, t.data().size(Split::Train))),
          8, View{.size = 96}));
  const Tensor sc = s.contiguous();
  const int64_t r = t.config().arch.resolution;
  for (int64_t i = 0; i < 4; ++i)
    write_file_atomic(
        out + "/sample_" + std::to_string(i) + ".obj",
        to_obj(
            surface_nets(sc.data<float>() + i * r * r * r, r),
            "voxel_wgan_gp sample " + std::to_string(i)));
  Series w{"Wasserstein estimate", "#1f77b4", {}},
      gp{"gradient penalty", "#ff7f0e", {}};
  for (const GanStats& h : t.history()) {
    w.points.emplace_back(static_cast<double>(h.step), h.wasserstein);
    gp.points.emplace_back(static_cast<double>(h.step), h.penalty);
  }
  write_file_atomic(
      out + "/loss_curve.svg",
      loss_curve_svg(
          {w, {"Wasserstein (smoothed)", "#d62728", smoothed(w.points)}, gp},
          "voxel_wgan_gp critic"));
}

int run(int argc, const char* const* argv) {
  const Stopwatch clock;
  GanConfig config;
  int64_t threads = num_threads();
  std::string out = "voxel_wgan_gp_out", resume;
  bool check_gp = false;
  ArgParser cli(
      "voxel_wgan_gp",
      "Trains a small 3-D WGAN-GP on procedural voxel shapes; writes samples,\n"
      "meshes, a loss curve and checkpoints to --out.");
  wgan_settings().add_flags(cli, config);
  cli.add("threads", &threads, "worker threads", 1, 1024);
  cli.add("out", &out, "output folder (created)");
  cli.add("resume", &resume, "checkpoint to continue from");
  cli.add_switch(
      "check-gp", &check_gp,
      "first compare the penalty's weight gradient with finite differences");
  if (!cli.parse(argc, argv))
    return 0;
  set_num_threads(static_cast<int>(threads));
  if (!resume.empty())
    config = wgan_settings().merge_resumed(
        GanTrainer::peek_config(resume), config, cli);
  GanTrainer t(config, &std::cout);
  if (!resume.empty()) {
    t.load_checkpoint(resume);
    t.set_cadence(config);
  }
  make_dirs(out);
  std::cout << "voxel_wgan_gp: generator "
            << t.model().generator().num_parameters() << " + critic "
            << t.model().critic().num_parameters() << " parameters, "
            << config.arch.resolution << "^3, batch " << config.batch << ", "
            << config.n_critic << " critic steps per generator step, lambda "
            << config.lambda << ", " << num_threads() << " threads"
            << std::endl;
  nlohmann::ordered_json result;
  if (check_gp) {
    const PenaltyCheck c = run_penalty_check(t);
    VOXGRAD_CHECK(
        c.ok,
        "the gradient penalty's gradient does not match finite "
        "differences (see the table above)");
    result["gp_check_max_error"] = c.max_abs_error;
  }
  const Eta eta(t.step(), config.steps);
  Stopwatch interval;
  int64_t done = 0;
  const double vox = static_cast<double>(
      config.n_critic * config.batch * config.arch.resolution *
      config.arch.resolution * config.arch.resolution);
  StepProfile profile(out);  // VOXGRAD_PROFILE=1
  while (t.step() < config.steps) {
    profile.before_step();
    const GanStats s = t.train_step();
    profile.after_step();
    ++done;
    if (s.step % config.log_every == 0 || s.step == config.steps) {
      char buf[256];
      std::snprintf(
          buf, sizeof buf,
          "step %5lld/%lld  critic %8.4f  W %8.4f  gp %7.4f  gen %8.4f  %s "
          "real vox/s  ETA %s",
          static_cast<long long>(s.step), static_cast<long long>(config.steps),
          s.critic_loss, s.wasserstein, s.penalty, s.generator_loss,
          human_count(vox * static_cast<double>(done) / interval.seconds())
              .c_str(),
          eta.at(s.step, clock.seconds()).c_str());
      std::cout << buf << std::endl;
      interval.reset();
      done = 0;
    }
    if (s.step % config.ckpt_every == 0 || s.step == config.steps)
      t.save_checkpoint(out + "/checkpoint.json");
  }
  write_outputs(t, out);
  t.model().train();
  const GenerationReport gen = evaluate(t);
  std::cout << "samples vs held-out shapes: " << text(gen) << std::endl;
  result["generation"] = to_json(gen);
  result["data"] = t.data().describe();
  result["wasserstein"] =
      t.history().empty() ? 0.0 : t.history().back().wasserstein;
  result["steps"] = t.step();
  result["seconds"] = clock.seconds();
  write_metrics(out, result);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("voxel_wgan_gp", [&] { return run(argc, argv); });
}
