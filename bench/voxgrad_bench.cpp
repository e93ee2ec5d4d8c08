// voxgrad-bench: times the three conv passes on the SPEC §3 suite, the way a
// training loop calls them (../shared/SPEC.md §3):
//
//   voxgrad-bench [--case NAME]... [--pass fwd|bwd_data|bwd_weight]...
//                 [--threads T] [--reps R] [--warmup W] [--json]
//                 [--interleave] [--isa generic|avx2|avx512]
//   voxgrad-bench --hash
//   voxgrad-bench --model ... (bench/model_bench.cpp), --layer ...
//                 (bench/layer_bench.cpp: pooling, softmax, cross-entropy)
//
// Each timed call is the op on plain NCDHW tensors, output allocation,
// layout changes and workspaces included; inputs are allocated and filled
// before timing.
//   fwd        voxgrad::conv3d / voxgrad::conv_transpose3d, bias on
//   bwd_data   the input gradient as the autograd backward computes it: the
//              other op on dy (conv_transpose3d_op for a Conv3d case,
//              conv3d_op for a ConvTranspose3d case), under NoGradGuard
//   bwd_weight conv3d_weight_op + the bias gradient (sum of dy over N and
//              space), as the backward computes them
// Sampling as the anchor harness (../shared/anchors/perf): W warm-up calls
// (default 2), then timed calls until at least 5 samples and 1 s of samples,
// at most 25; --reps R takes exactly R samples instead. Reports the median,
// the minimum and the maximum (spread = max / min); GFLOP/s = SPEC's FLOPs
// / median. The table (not the JSON) also shows extra%: the kernels' peak
// workspace during one more call / the op's input + output + weight bytes.
//
// By default each pass is timed on its own (all its samples in a row).
// --interleave times a case's passes in turn, fwd, bwd_data, bwd_weight,
// fwd, ... (each sample still timed alone), as a training loop runs them:
// a pass whose speed depends on what ran before it shows it here.
// --isa caps the instruction set of the conv kernels (as VOXGRAD_ISA does),
// e.g. to measure what an AVX2-only machine gets. --cpu-time reports the
// process's CPU time (all threads) instead of wall time: on a loaded
// machine, with --threads 1, a measure of the work that other processes'
// time slices do not inflate (not the SPEC timing).
//
// --hash prints a fingerprint (FNV-1a over the bytes) of each kernel's
// output for every geometry of the shared shape list and kHashRandom seeded
// random ones, in float and double (the large shapes in float only), on
// every instruction set this CPU runs: two builds that print the same lines
// compute the same bits (how an engine refactor proves it changed nothing).

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "layer_bench.hpp"
#include "model_bench.hpp"
#include "tests/conv_shapes.hpp"
#include "voxgrad/autograd/conv_ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"
#include "voxgrad/core/kernels/conv3d_plan.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/nn/conv.hpp"

namespace {

using voxgrad::Tensor;
using voxgrad::kernels::ConvGeometry3d;
using voxgrad::test::ConvCase;

const char* const kPasses[] = {"fwd", "bwd_data", "bwd_weight"};

struct Options {
  std::vector<std::string> cases, passes;
  int threads = 0;  // 0: voxgrad's default (every core)
  int reps = 0;     // 0: adaptive, 5..25 samples and >= 1 s
  int warmup = 2;
  bool json = false;
  bool hash = false;
  bool interleave = false;
  bool cpu_clock = false;  // --cpu-time: process CPU time, not wall time
  voxgrad::kernels::Isa isa = voxgrad::kernels::Isa::Auto;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(
      stderr,
      "voxgrad-bench: %s\n"
      "usage: voxgrad-bench [--case NAME]... "
      "[--pass fwd|bwd_data|bwd_weight]... [--threads T] [--reps R] "
      "[--warmup W] [--json] [--interleave] [--isa generic|avx2|avx512]\n"
      "       voxgrad-bench --hash\n",
      msg.c_str());
  std::exit(2);
}

std::vector<ConvCase> bench_cases() {
  std::vector<ConvCase> out;
  for (const ConvCase& c : voxgrad::test::conv_shapes())
    if (!c.bench.empty())
      out.push_back(c);
  return out;
}

int parse_int(const std::string& flag, const std::string& v, int min) {
  size_t used = 0;
  long n = 0;
  try {
    n = std::stol(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || n < min || n > 1000000)
    usage_error(
        flag + " needs an integer >= " + std::to_string(min) + " (got \"" + v +
        "\")");
  return static_cast<int>(n);
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> names;
  for (const ConvCase& c : bench_cases())
    names.push_back(c.bench);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--case") {
      const std::string v = value();
      if (std::find(names.begin(), names.end(), v) == names.end()) {
        std::string list;
        for (const std::string& n : names)
          list += (list.empty() ? "" : ", ") + n;
        usage_error("unknown case \"" + v + "\"; valid cases: " + list);
      }
      o.cases.push_back(v);
    } else if (a == "--pass") {
      const std::string v = value();
      if (v != "fwd" && v != "bwd_data" && v != "bwd_weight")
        usage_error(
            "unknown pass \"" + v + "\"; valid passes: fwd, bwd_data, " +
            "bwd_weight");
      o.passes.push_back(v);
    } else if (a == "--threads") {
      o.threads = parse_int(a, value(), 1);
    } else if (a == "--reps") {
      o.reps = parse_int(a, value(), 1);
    } else if (a == "--warmup") {
      o.warmup = parse_int(a, value(), 0);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--hash") {
      o.hash = true;
    } else if (a == "--interleave") {
      o.interleave = true;
    } else if (a == "--cpu-time") {
      o.cpu_clock = true;
    } else if (a == "--isa") {
      namespace vk = voxgrad::kernels;
      const std::string v = value();
      bool found = false;
      for (vk::Isa isa : {vk::Isa::Generic, vk::Isa::Avx2, vk::Isa::Avx512})
        if (v == vk::isa_name(isa)) {
          o.isa = isa;
          found = true;
        }
      if (!found)
        usage_error(
            "unknown instruction set \"" + v +
            "\"; valid: generic, avx2, avx512");
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: voxgrad-bench [--case NAME]... "
          "[--pass fwd|bwd_data|bwd_weight]... [--threads T] [--reps R] "
          "[--warmup W] [--json] [--interleave] "
          "[--isa generic|avx2|avx512]\n       voxgrad-bench --hash\ncases:");
      for (const std::string& n : names)
        std::printf(" %s", n.c_str());
      std::printf("\n");
      std::exit(0);
    } else {
      usage_error("unknown argument \"" + a + "\"");
    }
  }
  if (o.cases.empty())
    o.cases = names;
  if (o.passes.empty())
    o.passes.assign(std::begin(kPasses), std::end(kPasses));
  return o;
}

double now_ms() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(
             clock::now().time_since_epoch())
      .count();
}

// CPU time of the whole process (all threads), ms.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 +
         static_cast<double>(ts.tv_nsec) * 1e-6;
}

struct Stats {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int reps = 0;
};

Stats stats_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  Stats s;
  s.median_ms = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min_ms = v.front();
  s.max_ms = v.back();
  s.reps = static_cast<int>(n);
  return s;
}

/// Times each of fns: on its own (all samples of fns[0], then fns[1], ...)
/// or, interleaved, one sample of each in turn per round. Sampling stops
/// when every fn has R samples (--reps) or at least 5 and 1 s of its own
/// samples (or 25).
std::vector<Stats> time_calls(
    const std::vector<std::function<void()>>& fns, const Options& o) {
  const size_t k = fns.size();
  std::vector<std::vector<double>> v(k);
  std::vector<double> spent(k, 0.0);
  auto done = [&](size_t i) {
    const auto n = static_cast<int>(v[i].size());
    return o.reps > 0 ? n >= o.reps : n >= 5 && (spent[i] >= 1000.0 || n >= 25);
  };
  auto sample = [&](size_t i) {
    const double t0 = o.cpu_clock ? cpu_ms() : now_ms();
    fns[i]();
    const double dt = (o.cpu_clock ? cpu_ms() : now_ms()) - t0;
    v[i].push_back(dt);
    spent[i] += dt;
  };
  if (o.interleave) {
    for (int w = 0; w < o.warmup; ++w)
      for (size_t i = 0; i < k; ++i)
        fns[i]();
    for (bool all = false; !all;) {
      all = true;
      for (size_t i = 0; i < k; ++i)
        if (!done(i)) {
          sample(i);
          all = false;
        }
    }
  } else {
    for (size_t i = 0; i < k; ++i) {
      for (int w = 0; w < o.warmup; ++w)
        fns[i]();
      while (!done(i))
        sample(i);
    }
  }
  std::vector<Stats> out;
  for (size_t i = 0; i < k; ++i)
    out.push_back(stats_of(v[i]));
  return out;
}

/// The user-facing weight shape: 5-D, or 6-D (g, ., ., k) when grouped. A
/// ConvTranspose3d weight has the same shape as the Conv3d weight of g.
voxgrad::Shape weight_shape(const ConvGeometry3d& g) {
  const auto& k = g.kernel;
  if (g.groups == 1)
    return {g.C_out, g.C_in, k[0], k[1], k[2]};
  return {g.groups, g.C_out_g(), g.C_in_g(), k[0], k[1], k[2]};
}

/// One case's tensors (filled before timing) and the three timed calls.
struct CaseRun {
  ConvCase c;
  Tensor a, w, b, grad;  // a: the op's input; grad: the output's gradient

  explicit CaseRun(const ConvCase& cc) : c(cc) {
    const ConvGeometry3d& g = c.g;
    voxgrad::Generator gen(1234);
    const voxgrad::Shape xs{g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
    const voxgrad::Shape ys{g.N, g.C_out, g.out[0], g.out[1], g.out[2]};
    // Conv3d: x -> y. ConvTranspose3d: u (shaped like y) -> z (like x).
    a = voxgrad::uniform(
        c.transposed ? ys : xs, -1, 1, voxgrad::kFloat32, &gen);
    grad = voxgrad::uniform(
        c.transposed ? xs : ys, -1, 1, voxgrad::kFloat32, &gen);
    w = voxgrad::uniform(weight_shape(g), -0.1, 0.1, voxgrad::kFloat32, &gen);
    const int64_t c_bias = c.transposed ? g.C_in : g.C_out;
    b = voxgrad::uniform(
        {1, c_bias, 1, 1, 1}, -0.1, 0.1, voxgrad::kFloat32, &gen);
  }

  Tensor fwd() const {
    const ConvGeometry3d& g = c.g;
    const voxgrad::Int3 s(g.stride[0], g.stride[1], g.stride[2]);
    const voxgrad::Int3 p(g.padding[0], g.padding[1], g.padding[2]);
    const voxgrad::Int3 d(g.dilation[0], g.dilation[1], g.dilation[2]);
    if (!c.transposed)
      return voxgrad::conv3d(a, w, b, s, p, d, g.groups);
    std::array<int64_t, 3> extra{};
    for (size_t i = 0; i < 3; ++i)
      extra[i] = g.in[i] - ((g.out[i] - 1) * g.stride[i] - 2 * g.padding[i] +
                            g.dilation[i] * (g.kernel[i] - 1) + 1);
    return voxgrad::conv_transpose3d(
        a, w, b, s, p, voxgrad::Int3(extra[0], extra[1], extra[2]), g.groups,
        d);
  }

  Tensor bwd_data() const {
    namespace ag = voxgrad::autograd;
    if (!c.transposed)
      return ag::conv_transpose3d_op(grad, w, {}, c.g);
    return ag::conv3d_op(grad, w, {}, c.g);
  }

  std::pair<Tensor, Tensor> bwd_weight() const {
    namespace ag = voxgrad::autograd;
    // conv3d_weight_op(conv-side input, conv-side output gradient).
    Tensor dw = c.transposed ? ag::conv3d_weight_op(grad, a, c.g, w.shape())
                             : ag::conv3d_weight_op(a, grad, c.g, w.shape());
    Tensor db = grad.sum({0, 2, 3, 4}, true).reshape(b.shape());
    return {dw, db};
  }
};

// ---- --hash ----------------------------------------------------------------

constexpr int kHashRandom = 300;

uint64_t fnv1a(const void* p, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/// Random valid geometries (conv direction): each axis picks kernel,
/// stride, padding, dilation, an output size and an extra in [0, max(s,
/// dil)) (a ConvTranspose3d's output_padding), then the input size follows.
std::vector<ConvGeometry3d> random_geometries(int n) {
  std::mt19937_64 rng(20261125);
  auto pick = [&rng](int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  std::vector<ConvGeometry3d> out;
  while (static_cast<int>(out.size()) < n) {
    ConvGeometry3d g;
    g.N = pick(0, 9) == 0 ? 0 : pick(1, 3);
    g.groups = pick(1, 3);
    const bool wide = pick(0, 3) == 0;  // >= 32 channels per group
    g.C_in = g.groups * pick(1, wide ? 20 : 6);
    g.C_out = g.groups * (wide ? pick(30, 48) : pick(1, 6));
    bool ok = true;
    for (size_t a = 0; a < 3; ++a) {
      g.kernel[a] = pick(1, 5);
      g.stride[a] = pick(1, 4);
      g.dilation[a] = pick(0, 3) == 0 ? pick(2, 3) : 1;
      g.padding[a] = pick(0, 3);
      g.out[a] = a == 2 && pick(0, 2) == 0 ? 16 * pick(1, 2) + pick(-1, 1)
                                           : pick(1, 9);
      const int64_t extra = pick(0, std::max(g.stride[a], g.dilation[a]) - 1);
      g.in[a] = (g.out[a] - 1) * g.stride[a] - 2 * g.padding[a] +
                g.dilation[a] * (g.kernel[a] - 1) + 1 + extra;
      ok = ok && g.in[a] >= 1 && g.out[a] >= 1;
    }
    if (ok && g.x_numel() + g.y_numel() < (int64_t{1} << 20))
      out.push_back(g);
  }
  return out;
}

template <class T>
std::vector<T> hash_values(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& e : v)
    e = static_cast<T>(dist(rng));
  return v;
}

template <class T>
void hash_geometry(const std::string& name, const ConvGeometry3d& g) {
  namespace vk = voxgrad::kernels;
  const auto x = hash_values<T>(g.x_numel(), 1);
  const auto w = hash_values<T>(g.w_numel(), 2);
  const auto dy = hash_values<T>(g.y_numel(), 3);
  const auto b_out = hash_values<T>(g.C_out, 4);
  const auto b_in = hash_values<T>(g.C_in, 5);
  std::vector<T> y(static_cast<size_t>(g.y_numel()));
  std::vector<T> dx(static_cast<size_t>(g.x_numel()));
  std::vector<T> dw(static_cast<size_t>(g.w_numel()));
  vk::conv3d_fwd(g, x.data(), w.data(), y.data(), b_out.data());
  vk::conv3d_bwd_data(g, dy.data(), w.data(), dx.data(), b_in.data());
  vk::conv3d_bwd_weight(g, x.data(), dy.data(), dw.data());
  const char* dt = sizeof(T) == 4 ? "f32" : "f64";
  const char* isa = vk::conv3d_isa();
  const struct {
    const char* pass;
    const std::vector<T>& v;
  } outs[3] = {{"fwd", y}, {"bwd_data", dx}, {"bwd_weight", dw}};
  for (const auto& o : outs)
    std::printf(
        "%s %s %-10s %016llx %s\n", isa, dt, o.pass,
        static_cast<unsigned long long>(
            fnv1a(o.v.data(), o.v.size() * sizeof(T))),
        name.c_str());
}

void run_hash() {
  namespace vk = voxgrad::kernels;
  std::vector<std::pair<std::string, ConvGeometry3d>> small, large;
  for (const ConvCase& c : voxgrad::test::conv_shapes())
    (c.large ? large : small).push_back({c.name, c.g});
  for (const ConvGeometry3d& g : random_geometries(kHashRandom))
    small.push_back({"random:" + g.str(), g});
  for (vk::Isa isa : {vk::Isa::Generic, vk::Isa::Avx2, vk::Isa::Avx512}) {
    if (!vk::set_conv3d_isa(isa))
      continue;
    for (const auto& [name, g] : small) {
      hash_geometry<float>(name, g);
      hash_geometry<double>(name, g);
    }
    for (const auto& [name, g] : large)
      hash_geometry<float>(name, g);
    std::fflush(stdout);
  }
  vk::set_conv3d_isa(vk::Isa::Auto);
}

}  // namespace

int main(int argc, char** argv) {
  if (voxgrad::bench::wants_model_bench(argc, argv))  // bench/model_bench.cpp
    return voxgrad::bench::model_bench_main(argc, argv);
  if (voxgrad::bench::wants_layer_bench(argc, argv))  // bench/layer_bench.cpp
    return voxgrad::bench::layer_bench_main(argc, argv);
  const Options o = parse(argc, argv);
  try {
    if (o.hash) {
      run_hash();
      return 0;
    }
    if (o.threads > 0)
      voxgrad::set_num_threads(o.threads);
    if (o.isa != voxgrad::kernels::Isa::Auto &&
        !voxgrad::kernels::set_conv3d_isa(o.isa)) {
      std::fprintf(
          stderr, "voxgrad-bench: this CPU cannot run --isa %s\n",
          voxgrad::kernels::isa_name(o.isa));
      return 2;
    }
    const int threads = voxgrad::num_threads();
    voxgrad::NoGradGuard no_grad;
    if (!o.json)
      std::printf(
          "voxgrad-bench: %d thread(s), conv kernels %s%s\n"
          "%-11s %-10s %10s %10s %10s %9s %5s %7s\n",
          threads, voxgrad::kernels::conv3d_isa(),
          o.interleave ? ", passes interleaved" : "", "case", "pass",
          "median_ms", "min_ms", "max_ms", "GFLOP/s", "reps", "extra%");
    for (const ConvCase& c : bench_cases()) {
      if (std::find(o.cases.begin(), o.cases.end(), c.bench) == o.cases.end())
        continue;
      const CaseRun run(c);
      std::vector<const char*> passes;
      std::vector<std::function<void()>> fns;
      for (const char* pass : kPasses) {
        if (std::find(o.passes.begin(), o.passes.end(), pass) == o.passes.end())
          continue;
        const std::string ps = pass;
        passes.push_back(pass);
        if (ps == "fwd")
          fns.emplace_back([&run] { (void)run.fwd(); });
        else if (ps == "bwd_data")
          fns.emplace_back([&run] { (void)run.bwd_data(); });
        else
          fns.emplace_back([&run] { (void)run.bwd_weight(); });
      }
      const std::vector<Stats> stats = time_calls(fns, o);
      for (size_t i = 0; i < passes.size(); ++i) {
        const Stats& s = stats[i];
        const double gflops = c.g.flops() / (s.median_ms * 1e6);
        // Extra memory: the kernels' peak workspace during one more call,
        // relative to the op's input + output + weight bytes.
        namespace vkd = voxgrad::kernels::detail;
        double extra = 0;
        if (!o.json) {
          vkd::workspace_peak_reset();
          fns[i]();
          const double op_bytes =
              4.0 * static_cast<double>(
                        c.g.x_numel() + c.g.y_numel() + c.g.w_numel());
          extra = 100.0 * static_cast<double>(vkd::workspace_peak()) / op_bytes;
        }
        if (o.json)
          std::printf(
              "{\"case\": \"%s\", \"pass\": \"%s\", \"threads\": %d, "
              "\"median_ms\": %.4g, \"min_ms\": %.4g, \"gflops\": %.4g, "
              "\"max_ms\": %.4g, \"reps\": %d, \"isa\": \"%s\", "
              "\"interleave\": %s}\n",
              c.bench.c_str(), passes[i], threads, s.median_ms, s.min_ms,
              gflops, s.max_ms, s.reps, voxgrad::kernels::conv3d_isa(),
              o.interleave ? "true" : "false");
        else
          std::printf(
              "%-11s %-10s %10.3f %10.3f %10.3f %9.1f %5d %7.2f\n",
              c.bench.c_str(), passes[i], s.median_ms, s.min_ms, s.max_ms,
              gflops, s.reps, extra);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "voxgrad-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
