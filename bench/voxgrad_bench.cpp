// voxgrad-bench: times the three conv passes on the SPEC §3 suite, the way a
// training loop calls them (../shared/SPEC.md §3):
//
//   voxgrad-bench [--case NAME]... [--pass fwd|bwd_data|bwd_weight]...
//                 [--threads T] [--reps R] [--warmup W] [--json]
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
// at most 25; --reps R takes exactly R samples instead. Reports the median
// and the minimum; GFLOP/s = SPEC's FLOPs / median. The table (not the
// JSON) also shows extra%: the kernels' peak workspace during one more call
// / the op's input + output + weight bytes.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model_bench.hpp"
#include "tests/conv_shapes.hpp"
#include "voxgrad/autograd/conv_ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"
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
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(
      stderr,
      "voxgrad-bench: %s\n"
      "usage: voxgrad-bench [--case NAME]... "
      "[--pass fwd|bwd_data|bwd_weight]... [--threads T] [--reps R] "
      "[--warmup W] [--json]\n",
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
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: voxgrad-bench [--case NAME]... "
          "[--pass fwd|bwd_data|bwd_weight]... [--threads T] [--reps R] "
          "[--warmup W] [--json]\ncases:");
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

struct Stats {
  double median_ms = 0, min_ms = 0;
  int reps = 0;
};

Stats time_calls(const std::function<void()>& fn, const Options& o) {
  for (int i = 0; i < o.warmup; ++i)
    fn();
  std::vector<double> v;
  const double start = now_ms();
  for (;;) {
    const double t0 = now_ms();
    fn();
    v.push_back(now_ms() - t0);
    const auto n = static_cast<int>(v.size());
    if (o.reps > 0 ? n >= o.reps
                   : n >= 5 && (now_ms() - start >= 1000.0 || n >= 25))
      break;
  }
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  Stats s;
  s.median_ms = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min_ms = v.front();
  s.reps = static_cast<int>(n);
  return s;
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

}  // namespace

int main(int argc, char** argv) {
  if (voxgrad::bench::wants_model_bench(argc, argv))  // bench/model_bench.cpp
    return voxgrad::bench::model_bench_main(argc, argv);
  const Options o = parse(argc, argv);
  try {
    if (o.threads > 0)
      voxgrad::set_num_threads(o.threads);
    const int threads = voxgrad::num_threads();
    voxgrad::NoGradGuard no_grad;
    if (!o.json)
      std::printf(
          "voxgrad-bench: %d thread(s), conv kernels %s\n"
          "%-11s %-10s %10s %10s %9s %5s %7s\n",
          threads, voxgrad::kernels::conv3d_isa(), "case", "pass", "median_ms",
          "min_ms", "GFLOP/s", "reps", "extra%");
    for (const ConvCase& c : bench_cases()) {
      if (std::find(o.cases.begin(), o.cases.end(), c.bench) == o.cases.end())
        continue;
      const CaseRun run(c);
      for (const char* pass : kPasses) {
        if (std::find(o.passes.begin(), o.passes.end(), pass) == o.passes.end())
          continue;
        const std::string ps = pass;
        std::function<void()> fn;
        if (ps == "fwd")
          fn = [&run] { (void)run.fwd(); };
        else if (ps == "bwd_data")
          fn = [&run] { (void)run.bwd_data(); };
        else
          fn = [&run] { (void)run.bwd_weight(); };
        const Stats s = time_calls(fn, o);
        const double gflops = c.g.flops() / (s.median_ms * 1e6);
        // Extra memory: the kernels' peak workspace during one more call,
        // relative to the op's input + output + weight bytes.
        namespace vkd = voxgrad::kernels::detail;
        double extra = 0;
        if (!o.json) {
          vkd::workspace_peak_reset();
          fn();
          const double op_bytes =
              4.0 * static_cast<double>(
                        c.g.x_numel() + c.g.y_numel() + c.g.w_numel());
          extra = 100.0 * static_cast<double>(vkd::workspace_peak()) / op_bytes;
        }
        if (o.json)
          std::printf(
              "{\"case\": \"%s\", \"pass\": \"%s\", \"threads\": %d, "
              "\"median_ms\": %.4g, \"min_ms\": %.4g, \"gflops\": %.4g}\n",
              c.bench.c_str(), pass, threads, s.median_ms, s.min_ms, gflops);
        else
          std::printf(
              "%-11s %-10s %10.3f %10.3f %9.1f %5d %7.2f\n", c.bench.c_str(),
              pass, s.median_ms, s.min_ms, gflops, s.reps, extra);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "voxgrad-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
