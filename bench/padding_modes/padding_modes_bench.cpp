// padding-modes-bench: what a padding mode costs against zeros on the SPEC §3
// benchmark shapes (issue 13: <= 1.15x on body and gan_up2), timed side by
// side: every repetition runs zeros and then each mode on the same tensors,
// so a drift of the (shared) machine hits all of them alike.
//
//   padding-modes-bench [--case NAME]... [--pass NAME]... [--reps R]
//                       [--threads T] [--cpu]
//
// Passes, as voxgrad-bench times them (the op as a training loop calls it,
// outputs and workspaces inside the timed region):
//   fwd         voxgrad::conv3d / conv_transpose3d with the mode, bias on
//   bwd_data    the input gradient as autograd computes it: the other op on
//               dy, with the same mode (NoGradGuard)
//   bwd_weight  the weight gradient W(P x, dy) on the padding-0 geometry
//               (W(x, dy) for zeros), padding included, plus the bias sum
//   step        forward + backward through autograd (input, weight and bias
//               gradients): what a training step pays
// Default: body and gan_up2, every pass, 11 repetitions (the median is reported), every
// thread. --cpu times process CPU time instead of wall time (less sensitive
// to other processes on a loaded machine; with --threads 1 it is the work).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "conv_shapes.hpp"
#include "voxgrad/autograd/conv_ops.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/kernels/padded_conv.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/conv.hpp"

namespace {

using namespace voxgrad;
using kernels::ConvGeometry3d;

const PaddingMode kModes[] = {
    PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Replicate,
    PaddingMode::Circular};
const char* const kPasses[] = {"fwd", "bwd_data", "bwd_weight", "step"};

bool g_cpu = false;

double now_ms() {
  if (g_cpu) {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 +
           static_cast<double>(t.tv_nsec) * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Shape weight_shape(const ConvGeometry3d& g) {
  const auto& k = g.kernel;
  if (g.groups == 1)
    return {g.C_out, g.C_in, k[0], k[1], k[2]};
  return {g.groups, g.C_out_g(), g.C_in_g(), k[0], k[1], k[2]};
}

/// One SPEC §3 case: tensors filled once, the four timed calls per mode.
struct Case {
  test::ConvCase c;
  Tensor a, w, b, grad;  // a: the op's input; grad: its output's gradient

  explicit Case(const test::ConvCase& cc) : c(cc) {
    const ConvGeometry3d& g = c.g;
    Generator gen(1234);
    const Shape xs{g.N, g.C_in, g.in[0], g.in[1], g.in[2]};
    const Shape ys{g.N, g.C_out, g.out[0], g.out[1], g.out[2]};
    a = uniform(c.transposed ? ys : xs, -1, 1, kFloat32, &gen);
    grad = uniform(c.transposed ? xs : ys, -1, 1, kFloat32, &gen);
    w = uniform(weight_shape(g), -0.1, 0.1, kFloat32, &gen);
    b = uniform(
        {1, c.transposed ? g.C_in : g.C_out, 1, 1, 1}, -0.1, 0.1, kFloat32,
        &gen);
  }

  Tensor forward(
      const Tensor& x,
      const Tensor& wt,
      const Tensor& bt,
      PaddingMode m) const {
    const ConvGeometry3d& g = c.g;
    const Int3 s(g.stride[0], g.stride[1], g.stride[2]);
    const Int3 p(g.padding[0], g.padding[1], g.padding[2]);
    const Int3 d(g.dilation[0], g.dilation[1], g.dilation[2]);
    if (!c.transposed)
      return conv3d(x, wt, bt, s, p, d, g.groups, m);
    std::array<int64_t, 3> op{};
    for (size_t i = 0; i < 3; ++i)
      op[i] = g.in[i] - ((g.out[i] - 1) * g.stride[i] - 2 * g.padding[i] +
                         g.dilation[i] * (g.kernel[i] - 1) + 1);
    return conv_transpose3d(
        x, wt, bt, s, p, Int3(op[0], op[1], op[2]), g.groups, d, {}, m);
  }

  void run(const std::string& pass, PaddingMode m) const {
    namespace ag = autograd;
    const ConvGeometry3d& g = c.g;
    if (pass == "step") {
      const Tensor x = a.detach().requires_grad_();
      forward(x, w.detach().requires_grad_(), b.detach().requires_grad_(), m)
          .backward(grad);
      return;
    }
    NoGradGuard no_grad;
    if (pass == "fwd") {
      forward(a, w, b, m);
    } else if (pass == "bwd_data") {
      if (c.transposed)
        ag::conv3d_op(grad, w, {}, g, m);
      else
        ag::conv_transpose3d_op(grad, w, {}, g, m);
    } else {
      // conv3d_weight_op(conv-side input, conv-side output gradient).
      const Tensor in = c.transposed ? grad : a;
      const Tensor out = c.transposed ? a : grad;
      if (m == PaddingMode::Zeros) {
        ag::conv3d_weight_op(in, out, g, w.shape());
      } else {
        const std::vector<int64_t> pads{g.padding[2], g.padding[2],
                                        g.padding[1], g.padding[1],
                                        g.padding[0], g.padding[0]};
        ag::conv3d_weight_op(
            pad(in, pads, m), out, kernels::zero_padding_geometry(g),
            w.shape());
      }
      (c.transposed ? a : grad).sum({0, 2, 3, 4}, true);
    }
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(
      stderr,
      "padding-modes-bench: %s\nusage: padding-modes-bench [--case NAME]... "
      "[--pass NAME]... [--reps R] [--threads T] [--cpu]\n",
      msg.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names, passes;
  int reps = 11, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--case")
      names.push_back(value());
    else if (arg == "--pass")
      passes.push_back(value());
    else if (arg == "--reps")
      reps = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--threads")
      threads = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--cpu")
      g_cpu = true;
    else
      usage("unknown argument \"" + arg + "\"");
  }
  if (names.empty())
    names = {"body", "gan_up2"};
  for (const std::string& p : passes)
    if (std::find(std::begin(kPasses), std::end(kPasses), p) ==
        std::end(kPasses))
      usage("no pass \"" + p + "\" (fwd, bwd_data, bwd_weight, step)");
  if (passes.empty())
    passes.assign(std::begin(kPasses), std::end(kPasses));
  try {
    if (threads > 0)
      set_num_threads(threads);
    std::printf(
        "padding-modes-bench: %d thread(s), conv kernels %s, %s time, median "
        "of %d\n%-9s %-10s %-10s %10s %7s\n",
        num_threads(), kernels::conv3d_isa(), g_cpu ? "CPU" : "wall", reps,
        "case", "pass", "mode", "median_ms", "ratio");
    for (const std::string& name : names) {
      const test::ConvCase* found = nullptr;
      static const auto shapes = test::conv_shapes();
      for (const auto& c : shapes)
        if (c.bench == name)
          found = &c;
      if (!found)
        usage("no SPEC §3 case \"" + name + "\"");
      const Case cs(*found);
      for (const std::string& pass : passes) {
        for (PaddingMode m : kModes)  // warm-up (caches, allocator)
          cs.run(pass, m);
        std::vector<std::vector<double>> t(std::size(kModes));
        for (int r = 0; r < reps; ++r) {
          for (size_t k = 0; k < std::size(kModes); ++k) {
            const double t0 = now_ms();
            cs.run(pass, kModes[k]);
            t[k].push_back(now_ms() - t0);
          }
        }
        const double zero = median(t[0]);
        for (size_t k = 0; k < std::size(kModes); ++k) {
          const double med = median(t[k]);
          std::printf(
              "%-9s %-10s %-10s %10.2f %7.3f\n", name.c_str(), pass.c_str(),
              padding_mode_name(kModes[k]), med, med / zero);
        }
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "padding-modes-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
