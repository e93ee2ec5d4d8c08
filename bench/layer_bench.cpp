// voxgrad-bench --layer NAME: the non-conv layers of 3-D segmentation and
// generation networks, timed as a training loop calls them (float32, inputs
// allocated and filled before timing, outputs and gradients inside):
//
//   voxgrad-bench --layer all | --layer NAME [--layer ...] [--pass fwd|bwd]...
//                 [--threads T] [--reps R] [--warmup W] [--json]
//
//   max_pool_k2        F::max_pool3d(k2)            on (8, 32, 32, 32, 32)
//   max_pool_k3s2p1    F::max_pool3d(k3 s2 p1)      on (8, 32, 32, 32, 32)
//   avg_pool_k2        F::avg_pool3d(k2)            on (8, 32, 32, 32, 32)
//   adaptive_avg_4     F::adaptive_avg_pool3d(4)    on (8, 32, 32, 32, 32)
//   adaptive_max_4     F::adaptive_max_pool3d(4)    on (8, 32, 32, 32, 32)
//   softmax_c8         softmax(x, 1)                on (8, 8, 32, 32, 32)
//   cross_entropy_c8   F::cross_entropy(x, labels)  on (8, 8, 32, 32, 32)
//                      (per-voxel int64 labels (8, 32, 32, 32), mean)
//
// Passes: fwd = the forward without a graph (NoGradGuard); bwd = the
// forward on an input that requires grad and the backward to it
// (autograd::grad with an upstream gradient of ones; a loss takes none),
// so bwd - fwd is the backward's share. bench/torch_layers.py is the PyTorch
// twin: the same cases, passes, sampling and JSON lines
// {"layer", "pass", "threads", "median_ms", "min_ms", "reps"}.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "layer_bench.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/cross_entropy.hpp"
#include "voxgrad/nn/pooling.hpp"

namespace voxgrad::bench {
namespace {

namespace F = nn::functional;

struct LayerOptions {
  std::vector<std::string> layers, passes;
  int threads = 0;
  int reps = 11;
  int warmup = 2;
  bool json = false;
};

struct LayerCase {
  const char* name;
  Shape shape;
  /// The layer on x (a loss: x and the fixed labels).
  std::function<Tensor(const Tensor&)> fn;
  bool loss = false;
};

const Shape kPool{8, 32, 32, 32, 32};
const Shape kLogits{8, 8, 32, 32, 32};

std::vector<LayerCase> cases() {
  Generator g(7);
  const Tensor labels = randint(0, 8, {8, 32, 32, 32}, &g);
  return {
      {"max_pool_k2", kPool,
       [](const Tensor& x) { return F::max_pool3d(x, 2); }},
      {"max_pool_k3s2p1", kPool,
       [](const Tensor& x) {
         return F::max_pool3d(x, nn::MaxPool3dOptions(3).stride(2).padding(1));
       }},
      {"avg_pool_k2", kPool,
       [](const Tensor& x) { return F::avg_pool3d(x, 2); }},
      {"adaptive_avg_4", kPool,
       [](const Tensor& x) { return F::adaptive_avg_pool3d(x, 4); }},
      {"adaptive_max_4", kPool,
       [](const Tensor& x) { return F::adaptive_max_pool3d(x, 4); }},
      {"softmax_c8", kLogits, [](const Tensor& x) { return softmax(x, 1); }},
      {"cross_entropy_c8", kLogits,
       [labels](const Tensor& x) { return F::cross_entropy(x, labels); }, true},
  };
}

[[noreturn]] void usage(const std::string& msg) {
  std::string names;
  for (const LayerCase& c : cases())
    names += std::string(names.empty() ? "" : ", ") + c.name;
  std::fprintf(
      stderr,
      "voxgrad-bench: %s\nusage: voxgrad-bench --layer all|NAME [--layer "
      "...] [--pass fwd|bwd]... [--threads T] [--reps R] [--warmup W] "
      "[--json]\nlayers: %s\n",
      msg.c_str(), names.c_str());
  std::exit(2);
}

LayerOptions parse(int argc, char** argv) {
  LayerOptions o;
  std::vector<std::string> known;
  for (const LayerCase& c : cases())
    known.push_back(c.name);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--layer") {
      const std::string v = value();
      if (v == "all") {
        o.layers.insert(o.layers.end(), known.begin(), known.end());
        continue;
      }
      if (std::find(known.begin(), known.end(), v) == known.end())
        usage("unknown layer \"" + v + "\"");
      o.layers.push_back(v);
    } else if (a == "--pass") {
      const std::string v = value();
      if (v != "fwd" && v != "bwd")
        usage("unknown pass \"" + v + "\"; valid passes: fwd, bwd");
      o.passes.push_back(v);
    } else if (a == "--threads") {
      o.threads = int_flag(a, value(), 1, usage);
    } else if (a == "--reps") {
      o.reps = int_flag(a, value(), 1, usage);
    } else if (a == "--warmup") {
      o.warmup = int_flag(a, value(), 0, usage);
    } else if (a == "--json") {
      o.json = true;
    } else {
      usage("unknown argument \"" + a + "\" with --layer");
    }
  }
  if (o.passes.empty())
    o.passes = {"fwd", "bwd"};
  return o;
}

}  // namespace

bool wants_layer_bench(int argc, char** argv) {
  return has_flag(argc, argv, "--layer");
}

int layer_bench_main(int argc, char** argv) {
  const LayerOptions o = parse(argc, argv);
  return run_bench(o.threads, [&](int threads) {
    if (!o.json)
      std::printf(
          "voxgrad-bench: %d thread(s)\n%-17s %-5s %10s %10s %5s\n", threads,
          "layer", "pass", "median_ms", "min_ms", "reps");
    const std::vector<LayerCase> all = cases();
    for (const std::string& name : o.layers) {
      const LayerCase& c = *std::find_if(
          all.begin(), all.end(),
          [&](const LayerCase& l) { return name == l.name; });
      Generator g(11);
      const Tensor x = randn(c.shape, kFloat32, &g);
      for (const std::string& pass : o.passes) {
        std::function<void()> call;
        if (pass == "fwd") {
          call = [&] {
            NoGradGuard no_grad;
            (void)c.fn(x);
          };
        } else {
          call = [&] {
            const Tensor xg = x.detach().requires_grad_();
            const Tensor y = c.fn(xg);
            (void)autograd::grad(
                {y}, {xg}, {c.loss ? Tensor() : ones_like(y)})[0];
          };
        }
        for (int i = 0; i < o.warmup; ++i)
          call();
        const RepTimes t = time_reps(call, o.reps);
        const double med = t.median_ms, mn = t.min_ms;
        if (o.json)
          std::printf(
              "{\"layer\": \"%s\", \"pass\": \"%s\", \"threads\": %d, "
              "\"median_ms\": %.4g, \"min_ms\": %.4g, \"reps\": %d}\n",
              c.name, pass.c_str(), threads, med, mn, o.reps);
        else
          std::printf(
              "%-17s %-5s %10.3f %10.3f %5d\n", c.name, pass.c_str(), med, mn,
              o.reps);
        std::fflush(stdout);
      }
    }
  });
}

}  // namespace voxgrad::bench
