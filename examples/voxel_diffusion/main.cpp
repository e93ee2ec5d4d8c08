// voxel_diffusion: a denoising diffusion model (DDPM, Ho et al. 2020) of
// voxel shapes: a 3-D U-Net with GroupNorm, SiLU, a sinusoidal timestep
// embedding in every residual block and self-attention at the lowest
// resolution (unet.hpp), trained to predict the noise (trainer.hpp), with
// an exponential moving average of its weights that the samples are drawn
// from, by DDPM's ancestral sampler or DDIM (sampling.hpp).
//
//   build/bin/voxel_diffusion --out diffusion_out            # procedural
//   build/bin/voxel_diffusion --resume diffusion_out/checkpoint.json
//   build/bin/voxel_diffusion --data path/to/ModelNet10 --conditional 1
//
// Every --eval-every steps and at the end it prints MMD-CD, COV-CD and
// 1-NNA of samples against held-out shapes; the last line on stdout is
// JSON, also written to --out/metrics.json. VOXGRAD_PROFILE=1 profiles
// steps 2-6 (examples/common/step_profile.hpp): tables on stdout, the trace
// in --out/profile_trace.json.

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

// Samples in [-1, 1] as occupancy probabilities in [0, 1].
Tensor to_occupancy(const Tensor& x) {
  return clamp((x + 1.0) * 0.5, 0.0, 1.0).contiguous();
}

// Samples from the EMA network against the first held-out shapes, with a
// fixed generator so that evaluations of one run compare like with like.
GenerationReport evaluate(DiffusionTrainer& t, const SamplerSettings& s) {
  const DiffusionConfig& c = t.config();
  const int64_t n = std::min(c.eval_samples, t.data().size(Split::Test));
  Generator gen(static_cast<uint64_t>(c.seed) + 4242);
  Tensor samples;
  for (int64_t b = 0; b < n; b += 16) {
    const Tensor x =
        to_occupancy(t.sample(std::min<int64_t>(16, n - b), s, gen));
    samples = samples.defined() ? cat({samples, x}, 0) : x;
  }
  return generation_report(
      samples, t.data().range(Split::Test, 0, n),
      {.points = c.eval_points, .seed = 3});
}

std::string log_csv(const std::vector<DiffusionStats>& history) {
  std::string s = "step,loss,lr,grad_norm\n";
  char buf[128];
  for (const DiffusionStats& h : history) {
    std::snprintf(
        buf, sizeof buf, "%lld,%.17g,%.17g,%.17g\n",
        static_cast<long long>(h.step), h.loss, h.lr, h.grad_norm);
    s += buf;
  }
  return s;
}

void write_outputs(
    DiffusionTrainer& t, const SamplerSettings& s, const std::string& out) {
  const DiffusionConfig& c = t.config();
  // The denoising of 4 samples: x0_hat at 8 points of the chain, then the
  // samples themselves, one row per sample.
  Generator gen(static_cast<uint64_t>(c.seed) + 99);
  const int64_t chain_len = s.sampler == "ddpm" ? c.timesteps : s.steps;
  std::vector<Tensor> frames;
  const Tensor x = t.sample(
      16, s, gen, [&](int64_t step, int64_t, const Tensor& x0, const Tensor&) {
        if ((step + 1) % std::max<int64_t>(1, chain_len / 8) == 0 &&
            frames.size() < 8)
          frames.push_back(to_occupancy(x0.slice(0, 0, 4)));
      });
  const Tensor occ = to_occupancy(x);
  View view{.size = 96};
  view.color = {200, 130, 90};
  write_png(out + "/samples.png", volume_grid(occ, 8, view));
  frames.push_back(occ.slice(0, 0, 4).contiguous());
  // (frames, 4, ...) -> rows of one sample's chain.
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < 4; ++i)
    for (const Tensor& f : frames)
      rows.push_back(f.slice(0, i, i + 1));
  write_png(
      out + "/denoising.png",
      volume_grid(
          cat(rows, 0).contiguous(), static_cast<int>(frames.size()), view));
  const int64_t shown = std::min<int64_t>(16, t.data().size(Split::Train));
  write_png(
      out + "/real.png",
      volume_grid(t.data().range(Split::Train, 0, shown), 8, View{.size = 96}));
  const int64_t r = c.arch.resolution;
  for (int64_t i = 0; i < 4; ++i)
    write_file_atomic(
        out + "/sample_" + std::to_string(i) + ".obj",
        to_obj(
            surface_nets(occ.data<float>() + i * r * r * r, r),
            "voxel_diffusion sample " + std::to_string(i)));
  Series loss{"loss", "#1f77b4", {}};
  for (const DiffusionStats& h : t.history())
    loss.points.emplace_back(static_cast<double>(h.step), h.loss);
  write_file_atomic(
      out + "/loss_curve.svg",
      loss_curve_svg(
          {loss, {"loss (smoothed)", "#d62728", smoothed(loss.points)}},
          "voxel_diffusion"));
}

int run(int argc, const char* const* argv) {
  const Stopwatch clock;
  DiffusionConfig config;
  SamplerSettings sampling;
  int64_t threads = num_threads(), stop_at = 0;
  std::string out = "voxel_diffusion_out", resume;
  bool no_pictures = false;
  ArgParser cli(
      "voxel_diffusion",
      "Trains a denoising diffusion model (DDPM: a 3-D U-Net with GroupNorm,\n"
      "SiLU, timestep embeddings and self-attention at the lowest resolution,\n"
      "predicting the noise; an EMA of its weights samples) on procedural\n"
      "shapes or --data; samples by DDPM or DDIM; reports MMD-CD, COV-CD and\n"
      "1-NNA against held-out shapes and writes samples, the denoising\n"
      "chain, meshes, a loss curve, checkpoints and metrics.json to --out.");
  diffusion_settings().add_flags(cli, config);
  cli.add(
      "sampler", &sampling.sampler,
      "sampler of evaluations and pictures: ddim (--sample-steps steps) or "
      "ddpm (all --timesteps)",
      {"ddim", "ddpm"});
  cli.add(
      "sample-steps", &sampling.steps, "DDIM steps (at most --timesteps)", 1,
      100000);
  cli.add(
      "eta", &sampling.eta,
      "DDIM's stochasticity: 0 deterministic, 1 = DDPM's variance", 0, 1);
  cli.add("threads", &threads, "worker threads", 1, 1024);
  cli.add("out", &out, "output folder (created)");
  cli.add(
      "resume", &resume,
      "checkpoint to continue from (its settings are kept; settings given "
      "again must match, except the cadence ones)");
  cli.add(
      "stop-at", &stop_at,
      "stop after this step with a checkpoint, as if interrupted (0: run to "
      "--steps)",
      0, 100'000'000);
  cli.add_switch(
      "no-pictures", &no_pictures, "skip pictures and meshes at the end");
  if (!cli.parse(argc, argv))
    return 0;
  finish_config(config);
  set_num_threads(static_cast<int>(threads));
  // A resumed run reads and verifies the whole checkpoint before anything
  // is created or written, so a damaged file changes nothing on disk.
  if (!resume.empty())
    config = diffusion_settings().merge_resumed(
        DiffusionTrainer::peek_config(resume), config, cli);
  VOXGRAD_CHECK(
      sampling.sampler == "ddpm" || sampling.steps <= config.timesteps,
      "--sample-steps ", sampling.steps, " must be <= --timesteps (",
      config.timesteps, ")");
  DiffusionTrainer t(config, &std::cout);
  if (!resume.empty()) {
    t.load_checkpoint(resume);
    t.set_cadence(config);
  }
  const int64_t stop = stop_at > 0 ? stop_at : config.steps;
  VOXGRAD_CHECK(
      stop <= config.steps && stop >= t.step(), "--stop-at ", stop_at,
      " must lie in [", t.step(), ", ", config.steps,
      "] (the checkpoint's step and --steps)");
  make_dirs(out);
  const UNetArch& a = t.model().net->arch();
  std::cout << "voxel_diffusion: U-Net of " << t.model().net->num_parameters()
            << " parameters (width " << a.width << ", mults " << config.mults
            << ", " << a.blocks << " block(s), " << a.heads
            << " attention heads at "
            << a.resolution / a.patch / (int64_t{1} << (a.mults.size() - 1))
            << "^3), " << a.resolution << "^3 in patches of " << a.patch << "^3"
            << (a.num_classes > 0 ? ", class-conditional" : "") << "; "
            << t.data().describe() << ": " << t.data().size(Split::Train)
            << " training, " << t.data().size(Split::Test)
            << " held-out shapes; T " << config.timesteps << " ("
            << config.schedule << "), batch " << config.batch << ", lr "
            << config.lr << ", EMA " << config.ema_decay << ", "
            << num_threads() << " threads" << std::endl;
  if (!resume.empty())
    std::cout << "resumed from " << resume << " at step " << t.step()
              << std::endl;
  const Eta eta(t.step(), stop);
  Stopwatch interval, training;
  double train_seconds = 0;
  int64_t done = 0, run_steps = 0;
  GenerationReport last;
  nlohmann::ordered_json evals = nlohmann::ordered_json::array();
  StepProfile profile(out);  // VOXGRAD_PROFILE=1
  while (t.step() < stop) {
    profile.before_step();
    const DiffusionStats s = t.train_step();
    profile.after_step();
    ++done;
    ++run_steps;
    if (s.step % config.log_every == 0 || s.step == stop) {
      char buf[256];
      std::snprintf(
          buf, sizeof buf,
          "step %6lld/%lld  loss %.5f  lr %.2e  |grad| %.3f  %.2f s/step  "
          "ETA %s",
          static_cast<long long>(s.step), static_cast<long long>(config.steps),
          s.loss, s.lr, s.grad_norm,
          interval.seconds() / static_cast<double>(done),
          eta.at(s.step, clock.seconds()).c_str());
      std::cout << buf << std::endl;
      interval.reset();
      done = 0;
    }
    // Evaluated before the checkpoint is written; the evaluation's
    // generator is its own, so it never changes the training stream.
    if (s.step % config.eval_every == 0 || s.step == stop) {
      train_seconds += training.seconds();
      const Stopwatch eval_clock;
      last = evaluate(t, sampling);
      std::cout << "eval step " << s.step << ": " << text(last) << " ("
                << sampling.sampler << ", "
                << human_duration(eval_clock.seconds()) << ")" << std::endl;
      evals.push_back(
          {{"step", s.step},
           {"seconds", clock.seconds()},
           {"generation", to_json(last)}});
      interval.reset();
      done = 0;
      training.reset();
    }
    if (s.step % config.ckpt_every == 0 || s.step == stop) {
      t.save_checkpoint(out + "/checkpoint.json");
      write_file_atomic(out + "/train_log.csv", log_csv(t.history()));
      interval.reset();
      done = 0;
    }
  }
  if (last.samples == 0)  // resumed at the stop step: nothing trained
    last = evaluate(t, sampling);
  if (!no_pictures)
    write_outputs(t, sampling, out);
  const nlohmann::ordered_json result = {
      {"generation", to_json(last)},
      {"loss", t.history().empty() ? 0.0 : t.history().back().loss},
      {"steps", t.step()},
      {"seconds", clock.seconds()},
      {"seconds_per_step",
       run_steps > 0 ? train_seconds / static_cast<double>(run_steps) : 0.0},
      {"sampler", sampling.sampler},
      {"sample_steps",
       sampling.sampler == "ddpm" ? config.timesteps : sampling.steps},
      {"data", t.data().describe()},
      {"resolution", config.arch.resolution},
      {"evaluations", evals}};
  write_metrics(out, result);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("voxel_diffusion", [&] { return run(argc, argv); });
}
