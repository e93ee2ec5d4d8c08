// voxgrad-bench --model vae|wgan|unet|attention: whole training steps of
// the examples' models (voxel_vae, voxel_wgan_gp, unet3d_seg) on a fixed
// synthetic batch (no data generation), timed like the kernel cases:
//
//   voxgrad-bench --model vae [--model wgan] [--threads T] [--reps R]
//                 [--warmup W] [--json] [--profile] [--trace PREFIX]
//
//   vae   one VAE step at the example's defaults (batch 16, 32^3, width 16,
//         latent 64): zero_grad, forward, BCE-with-logits + KL, backward,
//         Adam, cosine LR step
//   wgan  one WGAN-GP critic step (batch 16, 16^3, width 16): generator
//         forward without grad, critic on real and fake, the gradient
//         penalty (a double backward), backward, Adam
//   unet  one unet3d_seg step (batch 4, 32^3, width 16, two poolings,
//         GroupNorm): forward, per-voxel cross-entropy over 6 classes,
//         backward, Adam
//   attention  nn::MultiheadAttention self-attention at a 3-D U-Net's 8^3
//         bottleneck: 512 tokens, batch 2, embed 64, 4 heads, attention
//         weights returned (averaged); forward, mean(y^2), backward
// bench/torch_models.py is the PyTorch twin (same models, batch, steps and
// JSON). Each JSON line: {"model", "pass": "step", "threads", "median_ms",
// "min_ms", "reps", "step_peak_increment_mib"}: the last is how far the
// resident set grew above its level before the timed steps (VmHWM after
// resetting it through /proc/self/clear_refs), as the twin measures it.
// With --profile, voxgrad::profiler's tables for R more steps follow (by op
// and by module); --trace PREFIX also writes PREFIX_<model>.json, the
// Chrome trace of one step.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "examples/unet3d_seg/model.hpp"
#include "examples/voxel_vae/model.hpp"
#include "examples/voxel_wgan_gp/gradient_penalty.hpp"
#include "examples/voxel_wgan_gp/model.hpp"
#include "model_bench.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/profiler.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/attention.hpp"
#include "voxgrad/nn/cross_entropy.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"

namespace voxgrad::bench {
namespace {

namespace ex = voxgrad::examples;

struct ModelOptions {
  std::vector<std::string> models;
  int threads = 0;
  int reps = 11;
  int warmup = 3;
  bool json = false;
  bool profile = false;
  std::string trace;  // --trace PREFIX: PREFIX_<model>.json of one step
};

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(
      stderr,
      "voxgrad-bench: %s\nusage: voxgrad-bench --model vae|wgan|unet|attention "
      "[--model ...] "
      "[--threads T] [--reps R] [--warmup W] [--json] [--profile] "
      "[--trace PREFIX]\n",
      msg.c_str());
  std::exit(2);
}

ModelOptions parse(int argc, char** argv) {
  ModelOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") {
      const std::string v = value();
      if (v != "vae" && v != "wgan" && v != "unet" && v != "attention")
        usage(
            "unknown model \"" + v +
            "\"; valid models: vae, wgan, unet, attention");
      o.models.push_back(v);
    } else if (a == "--threads") {
      o.threads = int_flag(a, value(), 1, usage);
    } else if (a == "--reps") {
      o.reps = int_flag(a, value(), 1, usage);
    } else if (a == "--warmup") {
      o.warmup = int_flag(a, value(), 0, usage);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--profile") {
      o.profile = true;
    } else if (a == "--trace") {
      o.trace = value();
      o.profile = true;
    } else {
      usage("unknown argument \"" + a + "\" with --model");
    }
  }
  return o;
}

/// A fixed occupancy batch: voxels on with probability 0.3.
Tensor synthetic_voxels(int64_t n, int64_t r, uint64_t seed) {
  Generator g(seed);
  NoGradGuard no_grad;
  return lt(rand({n, 1, r, r, r}, kFloat32, &g), 0.3);
}

/// The VAE step of examples/voxel_vae/trainer.cpp without the data.
std::function<void()> vae_step() {
  manual_seed(0);
  auto model = std::make_shared<ex::VoxelVAE>(ex::VaeArch{});
  auto opt = std::make_shared<optim::Adam>(
      model->parameters(), optim::AdamOptions(2e-3));
  auto sched =
      std::make_shared<optim::CosineAnnealingLR>(*opt, 4000, 0.05 * 2e-3);
  const Tensor x = synthetic_voxels(16, 32, 1);
  Generator g(2);
  const Tensor eps = randn({16, 64}, kFloat32, &g);
  return [model, opt, sched, x, eps] {
    opt->zero_grad();
    const ex::VaeLoss l = ex::vae_loss(model->forward(x, eps), x, 1.0);
    l.loss.backward();
    opt->step();
    sched->step();
    (void)l.loss.item();
  };
}

/// One critic step of examples/voxel_wgan_gp/trainer.cpp without the data.
std::function<void()> wgan_critic_step() {
  manual_seed(0);
  auto model = std::make_shared<ex::WganGp>(ex::GanArch{});
  auto opt = std::make_shared<optim::Adam>(
      std::vector<optim::ParamGroup>{
          optim::ParamGroup(model->generator().parameters()),
          optim::ParamGroup(model->critic().parameters())},
      optim::AdamOptions(1e-4).betas({0.5, 0.9}));
  const int64_t b = 16;
  const Tensor real = synthetic_voxels(b, 16, 1);
  Generator g(2);
  const Tensor z = randn({b, 64}, kFloat32, &g);
  const Tensor alpha = rand({b, 1, 1, 1, 1}, kFloat32, &g);
  return [model, opt, real, z, alpha] {
    auto critic = [&](const Tensor& x) { return model->critique(x); };
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = model->generate(z);
    }
    opt->zero_grad();
    const Tensor w = mean(critic(real)) - mean(critic(fake));
    const Tensor gp = ex::gradient_penalty(critic, real, fake, alpha, 10.0);
    const Tensor loss = gp - w;
    loss.backward();
    opt->step();
    (void)loss.item();
  };
}

/// One step of examples/unet3d_seg without the data: the 3-D U-Net (width
/// 16, two poolings, GroupNorm) on a batch of 4 scenes of 32^3, per-voxel
/// cross-entropy over 6 classes, backward, Adam.
std::function<void()> unet_step() {
  manual_seed(0);
  auto model = std::make_shared<ex::UNet3dImpl>(ex::UNetArch{});
  auto opt = std::make_shared<optim::Adam>(
      model->parameters(), optim::AdamOptions(2e-3));
  const Tensor x = synthetic_voxels(4, 32, 1);
  Generator g(2);
  Tensor labels;
  {
    NoGradGuard no_grad;
    labels = randint(0, 6, {4, 32, 32, 32}, &g);
  }
  return [model, opt, x, labels] {
    opt->zero_grad();
    const Tensor loss =
        nn::functional::cross_entropy(model->forward(x), labels);
    loss.backward();
    opt->step();
    (void)loss.item();
  };
}

/// Self-attention at an 8^3 U-Net bottleneck: (L, N, E) = (512, 2, 64),
/// 4 heads; forward (with the averaged weights, as PyTorch's default),
/// mean(y^2), backward.
std::function<void()> attention_step() {
  manual_seed(0);
  auto mha = std::make_shared<nn::MultiheadAttentionImpl>(
      nn::MultiheadAttentionOptions(64, 4));
  Generator g(1);
  const Tensor x = randn({512, 2, 64}, kFloat32, &g).requires_grad_();
  return [mha, x] {
    mha->zero_grad();
    x.set_grad(Tensor());
    const auto out = mha->forward(x, x, x);
    const Tensor y = std::get<0>(out);
    const Tensor loss = mean(y * y);
    loss.backward();
    (void)loss.item();
  };
}

int64_t status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0)
      return std::strtoll(line.c_str() + key.size(), nullptr, 10);
  return -1;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  return static_cast<bool>(f.flush());
}

}  // namespace

bool wants_model_bench(int argc, char** argv) {
  return has_flag(argc, argv, "--model");
}

int model_bench_main(int argc, char** argv) {
  const ModelOptions o = parse(argc, argv);
  return run_bench(o.threads, [&](int threads) {
    if (!o.json)
      std::printf(
          "voxgrad-bench: %d thread(s)\n%-6s %-6s %10s %10s %5s %12s\n",
          threads, "model", "pass", "median_ms", "min_ms", "reps", "peak+MiB");
    for (const std::string& name : o.models) {
      const std::function<void()> step = name == "vae"    ? vae_step()
                                         : name == "wgan" ? wgan_critic_step()
                                         : name == "unet" ? unet_step()
                                                          : attention_step();
      for (int i = 0; i < o.warmup; ++i)
        step();
      const int64_t base = status_kib("VmRSS");
      const bool peak_ok = reset_peak_rss();
      const RepTimes t = time_reps(step, o.reps);
      const int64_t peak = status_kib("VmHWM");
      const double med = t.median_ms, mn = t.min_ms;
      const double inc = peak_ok && peak >= 0 && base >= 0
                             ? static_cast<double>(peak - base) / 1024.0
                             : -1.0;
      if (o.json)
        std::printf(
            "{\"model\": \"%s\", \"pass\": \"step\", \"threads\": %d, "
            "\"median_ms\": %.4g, \"min_ms\": %.4g, \"reps\": %d, "
            "\"step_peak_increment_mib\": %.1f}\n",
            name.c_str(), threads, med, mn, o.reps, inc);
      else
        std::printf(
            "%-6s %-6s %10.3f %10.3f %5d %12.1f\n", name.c_str(), "step", med,
            mn, o.reps, inc);
      std::fflush(stdout);
      if (o.profile) {
        // The timed steps once more under the profiler, and one step's trace.
        {
          profiler::Session session;
          for (int i = 0; i < o.reps; ++i)
            step();
          std::printf(
              "\nprofile of %d %s steps, %d thread(s):\n%s\n%s\n", o.reps,
              name.c_str(), threads, profiler::table(40).c_str(),
              profiler::module_table(40).c_str());
        }
        if (!o.trace.empty()) {
          profiler::Session session;
          step();
          const std::string path = o.trace + "_" + name + ".json";
          profiler::write_chrome_trace(path);
          std::printf("trace of one step: %s\n", path.c_str());
        }
        std::fflush(stdout);
      }
    }
  });
}

}  // namespace voxgrad::bench
