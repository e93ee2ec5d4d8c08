// voxel_diffusion's pieces: the noise schedules, the DDPM and DDIM
// samplers, the U-Net, the training step and the weights' moving average.

#include <doctest/doctest.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "sampling.hpp"
#include "schedule.hpp"
#include "trainer.hpp"
#include "unet.hpp"
#include "voxgrad/autograd/gradcheck.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/nn/functional.hpp"
#include "voxgrad/nn/init.hpp"
#include "voxgrad/optim/adam.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {

// Runs `f` and requires a voxgrad::Error whose message contains each of
// `parts` (the argument, the value, the rule).
template <class F>
void require_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& p : parts)
      CHECK_MESSAGE(
          what.find(p) != std::string::npos, "'", p, "' not in: ", what);
    return;
  }
  FAIL("no voxgrad::Error for a message with '", parts.front(), "'");
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to(kFloat64).contiguous().to_vector<double>();
  const std::vector<double> y = b.to(kFloat64).contiguous().to_vector<double>();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i)
    m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

UNetArch tiny_arch() {
  UNetArch a;
  a.resolution = 8;
  a.patch = 1;
  a.width = 8;
  a.mults = {1, 2};
  a.blocks = 1;
  a.heads = 2;
  a.groups = 4;
  return a;
}

// Every parameter redrawn at random (the zero-initialised last layers
// included), so that every path of the network carries signal.
void randomize(nn::Module& m, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard no_grad;
  for (const Tensor& p : m.parameters())
    p.copy_(randn(p.shape(), p.dtype(), &gen) * 0.2);
}

std::vector<uint8_t> bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<uint8_t> b(static_cast<size_t>(c.numel()) * 4);
  std::memcpy(b.data(), c.data<float>(), b.size());
  return b;
}

}  // namespace

// ---- schedules --------------------------------------------------------------

TEST_CASE(
    "voxel_diffusion: linear schedule is DDPM's for T = 1000, scaled for other "
    "T") {
  const NoiseSchedule s(BetaSchedule::Linear, 1000);
  CHECK(s.beta(0) == doctest::Approx(1e-4).epsilon(1e-12));
  CHECK(s.beta(999) == doctest::Approx(0.02).epsilon(1e-12));
  CHECK(s.beta(500) == doctest::Approx(1e-4 + (0.02 - 1e-4) * 500 / 999.0));
  // DDPM's alpha_bar_T for T = 1000 is about 4.04e-5.
  CHECK(s.alpha_bar(999) == doctest::Approx(4.0358e-5).epsilon(1e-3));
  CHECK(s.alpha_bar_prev(0) == 1.0);
  CHECK(s.alpha_bar_prev(10) == s.alpha_bar(9));
  const NoiseSchedule s100(BetaSchedule::Linear, 100);
  CHECK(s100.beta(0) == doctest::Approx(1e-3).epsilon(1e-12));
  CHECK(s100.beta(99) == doctest::Approx(0.2).epsilon(1e-12));
  for (const NoiseSchedule* x : {&s, &s100}) {
    double prod = 1;
    for (int64_t t = 0; t < x->num_train_timesteps(); ++t) {
      prod *= 1 - x->beta(t);
      CHECK(x->alpha_bar(t) == doctest::Approx(prod).epsilon(1e-14));
    }
  }
}

TEST_CASE("voxel_diffusion: cosine schedule follows alpha_bar = f(t) / f(0)") {
  const int64_t T = 50;
  const NoiseSchedule s(BetaSchedule::Cosine, T);
  const auto f = [&](double t) {
    const double c = std::cos((t / T + 0.008) / 1.008 * std::numbers::pi / 2);
    return c * c;
  };
  for (int64_t t = 0; t + 1 < T; ++t)  // the last beta is clipped to 0.999
    CHECK(s.alpha_bar(t) == doctest::Approx(f(t + 1) / f(0)).epsilon(1e-12));
  CHECK(s.beta(T - 1) == 0.999);
}

TEST_CASE("voxel_diffusion: bad schedules and timesteps are refused") {
  require_error(
      [] { NoiseSchedule(BetaSchedule::Linear, 1); },
      {"num_train_timesteps", "[2, 100000]", "got 1"});
  require_error(
      [] { NoiseSchedule(BetaSchedule::Cosine, 100001); },
      {"num_train_timesteps", "got 100001"});
  require_error(
      [] { NoiseSchedule(BetaSchedule::Linear, 20); },
      {"linear schedule needs num_train_timesteps >= 21", "got 20"});
  CHECK(NoiseSchedule(BetaSchedule::Linear, 21).beta(20) < 1);
  CHECK(NoiseSchedule(BetaSchedule::Cosine, 2).beta(1) == 0.999);
  require_error(
      [] { parse_beta_schedule("sigmoid"); }, {"'sigmoid'", "linear"});
  const NoiseSchedule s(BetaSchedule::Cosine, 10);
  require_error([&] { s.beta(10); }, {"beta", "[0, 10)", "got 10"});
  require_error([&] { s.alpha_bar(-1); }, {"alpha_bar", "got -1"});
  const Tensor x = zeros({2, 3}), n = zeros({2, 3});
  require_error(
      [&] { s.add_noise(x, n, {0}); },
      {"add_noise", "1 timesteps", "batch of 2"});
  require_error([&] { s.add_noise(x, n, {0, 10}); }, {"add_noise", "got 10"});
  require_error(
      [&] {
        s.add_noise(x, zeros({2, 4}), {0, 1});
      },
      {"add_noise", "[2, 3]", "[2, 4]", "one shape and dtype"});
  require_error(
      [&] {
        s.add_noise(x, zeros({2, 3}, kFloat64), {0, 1});
      },
      {"add_noise", "float64", "one shape and dtype"});
}

TEST_CASE("voxel_diffusion: add_noise mixes x0 and noise per sample") {
  const NoiseSchedule s(BetaSchedule::Cosine, 40);
  const Tensor x0 = randn({3, 1, 2, 2, 2}, kFloat64),
               n = randn({3, 1, 2, 2, 2}, kFloat64);
  const std::vector<int64_t> t{0, 17, 39};
  const Tensor y = s.add_noise(x0, n, t);
  for (int64_t i = 0; i < 3; ++i) {
    const double a = s.alpha_bar(t[static_cast<size_t>(i)]);
    const Tensor want = x0.slice(0, i, i + 1) * std::sqrt(a) +
                        n.slice(0, i, i + 1) * std::sqrt(1 - a);
    CHECK(max_abs_diff(y.slice(0, i, i + 1), want) < 1e-15);
  }
}

TEST_CASE("voxel_diffusion: velocity and noise convert exactly") {
  const NoiseSchedule s(BetaSchedule::Linear, 50);
  const Tensor x0 = randn({3, 1, 2, 2, 2}, kFloat64),
               n = randn({3, 1, 2, 2, 2}, kFloat64);
  const std::vector<int64_t> t{0, 25, 49};
  const Tensor v = s.get_velocity(x0, n, t);
  for (int64_t i = 0; i < 3; ++i) {
    const double a = s.alpha_bar(t[static_cast<size_t>(i)]);
    const Tensor want = n.slice(0, i, i + 1) * std::sqrt(a) -
                        x0.slice(0, i, i + 1) * std::sqrt(1 - a);
    CHECK(max_abs_diff(v.slice(0, i, i + 1), want) < 1e-15);
  }
  CHECK(
      max_abs_diff(s.epsilon_from_velocity(s.add_noise(x0, n, t), v, t), n) <
      1e-14);
  require_error(
      [&] {
        s.get_velocity(x0, n, {0, 1});
      },
      {"get_velocity", "2 timesteps", "batch of 3"});
  require_error(
      [&] {
        s.epsilon_from_velocity(x0, zeros({3, 1, 2, 2, 2}), t);
      },
      {"epsilon_from_velocity", "float32", "one shape and dtype"});
}

// ---- samplers ---------------------------------------------------------------

TEST_CASE("voxel_diffusion: DDIM timesteps are trailing and exact") {
  std::vector<int64_t> want;
  for (int64_t i = 1; i <= 50; ++i)
    want.push_back(20 * i - 1);
  CHECK(ddim_timesteps(1000, 50) == want);
  CHECK(ddim_timesteps(10, 3) == std::vector<int64_t>{2, 6, 9});
  CHECK(ddim_timesteps(7, 1) == std::vector<int64_t>{6});
  std::vector<int64_t> all(13);
  for (int64_t i = 0; i < 13; ++i)
    all[static_cast<size_t>(i)] = i;
  CHECK(ddim_timesteps(13, 13) == all);
  for (int64_t T : {2, 7, 100, 1000})
    for (int64_t S = 1; S <= T; S += (T > 10 ? 7 : 1)) {
      const std::vector<int64_t> tau = ddim_timesteps(T, S);
      REQUIRE(static_cast<int64_t>(tau.size()) == S);
      CHECK(tau.back() == T - 1);
      for (size_t i = 1; i < tau.size(); ++i)
        CHECK(tau[i] > tau[i - 1]);
    }
  require_error([] { ddim_timesteps(10, 0); }, {"steps", "[1, 10]", "got 0"});
  require_error([] { ddim_timesteps(10, 11); }, {"steps", "got 11"});
}

TEST_CASE(
    "voxel_diffusion: DDIM with eta 1 and S = T is DDPM's ancestral sampler") {
  for (BetaSchedule kind : {BetaSchedule::Linear, BetaSchedule::Cosine}) {
    const NoiseSchedule s(kind, 30);
    // Any smooth noise predictor; the two samplers must agree on it.
    const NoisePredictor model = [](const Tensor& x, const Tensor& t) {
      return tanh(x * 0.7) * 0.5 +
             sin(t * 0.1).reshape({t.size(0), 1, 1}) * 0.3;
    };
    Generator g1(5), g2(5);
    const Tensor a = ddpm_sample(model, s, {2, 3, 4}, g1, kFloat64);
    const Tensor b = ddim_sample(model, s, {2, 3, 4}, 30, 1.0, g2, kFloat64);
    CHECK(max_abs_diff(a, b) < 1e-12);
    CHECK(g1.offset() == g2.offset());  // the same noise was drawn
    CHECK(max_abs_diff(a, zeros_like(a)) > 0.1);
  }
}

TEST_CASE("voxel_diffusion: an oracle noise predictor gives back its x0") {
  // eps(x_t, t) = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t) is the exact
  // noise for a known x0 in [-1, 1]: every sampler must end at x0.
  const NoiseSchedule s(BetaSchedule::Linear, 40);
  const Tensor x0 = tanh(randn({3, 1, 2, 2, 2}, kFloat64));
  const NoisePredictor oracle = [&](const Tensor& x, const Tensor& t) {
    const double abar =
        s.alpha_bar(static_cast<int64_t>(t.to_vector<double>()[0]));
    return (x - x0 * std::sqrt(abar)) * (1 / std::sqrt(1 - abar));
  };
  Generator gen(1);
  CHECK(
      max_abs_diff(ddpm_sample(oracle, s, x0.shape(), gen, kFloat64), x0) <
      1e-9);
  for (int64_t steps : {1, 4, 40})
    for (double eta : {0.0, 0.5, 1.0})
      CHECK(
          max_abs_diff(
              ddim_sample(oracle, s, x0.shape(), steps, eta, gen, kFloat64),
              x0) < 1e-9);
}

TEST_CASE(
    "voxel_diffusion: DDIM with eta 0 draws only x_T, and every step is "
    "reported") {
  const NoiseSchedule s(BetaSchedule::Cosine, 20);
  const NoisePredictor model = [](const Tensor& x, const Tensor&) {
    return x * 0.5;
  };
  Generator gen(3);
  std::vector<int64_t> seen;
  const Tensor x = ddim_sample(
      model, s, {2, 5}, 5, 0.0, gen, kFloat64,
      [&](int64_t step, int64_t t, const Tensor& x0, const Tensor& xt) {
        CHECK(step == static_cast<int64_t>(seen.size()));
        CHECK(x0.shape() == Shape{2, 5});
        CHECK(xt.shape() == Shape{2, 5});
        seen.push_back(t);
      });
  CHECK(seen == std::vector<int64_t>{19, 15, 11, 7, 3});
  Generator only_x_T(3);
  (void)randn({2, 5}, kFloat64, &only_x_T);
  CHECK(gen.offset() == only_x_T.offset());
  CHECK(x.shape() == Shape{2, 5});
}

TEST_CASE("voxel_diffusion: bad sampler arguments are refused") {
  const NoiseSchedule s(BetaSchedule::Cosine, 10);
  const Tensor x = zeros({2, 3}, kFloat64), e = zeros({2, 3}, kFloat64);
  require_error(
      [&] { ddpm_step(s, x, e, 5, Tensor()); },
      {"ddpm_step", "noise z", "undefined"});
  require_error(
      [&] {
        ddpm_step(s, x, e, 5, zeros({2, 3}));
      },
      {"ddpm_step", "noise z", "float32"});
  require_error(
      [&] {
        ddpm_step(s, x, zeros({3, 2}, kFloat64), 5, Tensor());
      },
      {"ddpm_step", "[2, 3]", "[3, 2]"});
  require_error([&] { ddpm_step(s, x, e, 10, Tensor()); }, {"got 10"});
  require_error(
      [&] { ddim_step(s, x, e, 5, 2, 1.5, Tensor()); },
      {"eta", "[0, 1]", "1.5"});
  require_error(
      [&] { ddim_step(s, x, e, 5, 2, std::nan(""), Tensor()); },
      {"eta", "nan"});
  require_error(
      [&] { ddim_step(s, x, e, 5, 5, 0.0, Tensor()); },
      {"t_prev", "[-1, t = 5)", "got 5"});
  require_error(
      [&] { ddim_step(s, x, e, 5, -2, 0.0, Tensor()); }, {"t_prev", "got -2"});
  require_error(
      [&] { ddim_step(s, x, e, 5, 2, 0.5, Tensor()); },
      {"ddim_step", "noise z"});
  const NoisePredictor m = [](const Tensor& y, const Tensor&) { return y; };
  Generator g;
  require_error([&] { ddpm_sample(m, s, {}, g); }, {"ddpm_sample", "(N, ...)"});
  require_error(
      [&] {
        ddim_sample(m, s, {0, 2}, 3, 0.0, g);
      },
      {"ddim_sample", "N >= 1"});
  require_error(
      [&] {
        ddim_sample(m, s, {1, 2}, 11, 0.0, g);
      },
      {"steps", "got 11"});
  require_error(
      [&] {
        ddim_sample(m, s, {1, 2}, 3, -0.1, g);
      },
      {"eta", "-0.1"});
}

// ---- U-Net ------------------------------------------------------------------

TEST_CASE("voxel_diffusion: timestep embedding is DDPM's") {
  const Tensor e = timestep_embedding(tensor({0.0, 3.0}, kFloat64), 8);
  REQUIRE(e.shape() == Shape{2, 8});
  const std::vector<double> v = e.to_vector<double>();
  for (int64_t i = 0; i < 4; ++i) {
    CHECK(v[static_cast<size_t>(i)] == 0.0);      // sin(0)
    CHECK(v[static_cast<size_t>(4 + i)] == 1.0);  // cos(0)
    const double w = std::pow(10000.0, -static_cast<double>(i) / 3);
    CHECK(v[static_cast<size_t>(8 + i)] == doctest::Approx(std::sin(3 * w)));
    CHECK(v[static_cast<size_t>(12 + i)] == doctest::Approx(std::cos(3 * w)));
  }
  require_error(
      [] { timestep_embedding(zeros({2}), 6 + 1); }, {"dim", "even", "got 7"});
  require_error([] { timestep_embedding(zeros({2}), 2); }, {"dim", "got 2"});
  require_error(
      [] {
        timestep_embedding(zeros({2, 1}), 8);
      },
      {"timesteps (N,)", "[2, 1]"});
}

TEST_CASE(
    "voxel_diffusion: U-Net shapes for every layout, and a zero first "
    "prediction") {
  struct Layout {
    int64_t res, patch;
    std::vector<int64_t> mults;
    int64_t blocks;
    const char *down, *up;
    int64_t classes;
  };
  for (const Layout& l : std::vector<Layout>{
           {8, 1, {1, 2}, 1, "conv", "transposed", 0},
           {8, 2, {1, 1}, 2, "pool", "nearest", 0},
           {16, 2, {1, 2, 2}, 1, "conv", "nearest", 3},
           {4, 1, {2}, 1, "conv", "transposed", 0},
           {16, 4, {1, 2}, 1, "pool", "transposed", 2}}) {
    UNetArch a = tiny_arch();
    a.resolution = l.res;
    a.patch = l.patch;
    a.mults = l.mults;
    a.blocks = l.blocks;
    a.downsample = l.down;
    a.upsample = l.up;
    a.num_classes = l.classes;
    UNet3d net(a);
    const Tensor x = randn({2, 1, l.res, l.res, l.res});
    const Tensor t = tensor({0.0, 17.0});
    const Tensor labels = l.classes > 0 ? randint(0, l.classes, {2}) : Tensor();
    const Tensor y = net(x, t, labels);
    CHECK(y.shape() == x.shape());
    CHECK(max_abs_diff(y, zeros_like(y)) == 0.0);  // conv_out starts at zero
    randomize(*net, 4);
    CHECK(max_abs_diff(net(x, t, labels), zeros_like(y)) > 1e-3);
  }
}

TEST_CASE("voxel_diffusion: U-Net refuses bad architectures and inputs") {
  UNetArch a = tiny_arch();
  a.resolution = 12;
  a.patch = 2;
  a.mults = {1, 2, 2};
  require_error(
      [&] { UNet3d{a}; }, {"resolution / patch (6)", "2^(levels - 1) = 4"});
  a = tiny_arch();
  a.patch = 3;
  require_error([&] { UNet3d{a}; }, {"patch (3)", "divide the resolution (8)"});
  a = tiny_arch();
  a.width = 7;
  require_error([&] { UNet3d{a}; }, {"width", "even", "got 7"});
  a = tiny_arch();
  a.mults = {};
  require_error([&] { UNet3d{a}; }, {"1 to 6 levels", "got 0"});
  a = tiny_arch();
  a.heads = 3;
  require_error(
      [&] { UNet3d{a}; }, {"AttentionBlock", "channels (16)", "heads (3)"});
  a = tiny_arch();
  a.blocks = 0;
  require_error([&] { UNet3d{a}; }, {"blocks", "[1, 8]", "got 0"});
  a = tiny_arch();
  a.downsample = "stride";
  require_error([&] { UNet3d{a}; }, {"Downsample", "'stride'"});
  a = tiny_arch();
  a.upsample = "bilinear";
  require_error([&] { UNet3d{a}; }, {"Upsample", "'bilinear'"});

  UNet3d net(tiny_arch());
  const Tensor x = zeros({2, 1, 8, 8, 8}), t = zeros({2});
  require_error(
      [&] {
        net(zeros({2, 1, 8, 8, 4}), t);
      },
      {"(N, 1, 8, 8, 8)", "[2, 1, 8, 8, 4]"});
  require_error([&] { net(zeros({2, 2, 8, 8, 8}), t); }, {"[2, 2, 8, 8, 8]"});
  require_error([&] { net(x, zeros({3})); }, {"timesteps", "(2)", "[3]"});
  require_error(
      [&] { net(x, zeros({2}, kFloat64)); },
      {"timesteps", "float32", "float64"});
  require_error(
      [&] { net(x, t, zeros({2}, kInt64)); },
      {"labels given", "unconditional"});
  UNetArch c = tiny_arch();
  c.num_classes = 4;
  UNet3d cond(c);
  require_error([&] { cond(x, t); }, {"class-conditional", "labels", "none"});
  require_error(
      [&] { cond(x, t, zeros({2})); }, {"labels", "int64", "float32"});
  require_error([&] { cond(x, t, full({2}, 4, kInt64)); }, {"4"});

  require_error(
      [] { parse_mults("1,a"); },
      {"--mults", "'1,a'", "'a' is not an integer"});
  require_error([] { parse_mults("1,,2"); }, {"--mults", "'1,,2'"});
  require_error([] { parse_mults("1,2,"); }, {"--mults", "'1,2,'"});
  require_error([] { parse_mults("1,65"); }, {"--mults", "65 is out of range"});
  require_error(
      [] { parse_mults("1 ,2"); }, {"--mults", "'1 ' is not an integer"});
  require_error([] { parse_mults("1,1,1,1,1,1,1"); }, {"--mults", "7 levels"});
  require_error([] { parse_mults(""); }, {"--mults", "0 levels"});
  CHECK(parse_mults("1,2,4") == std::vector<int64_t>{1, 2, 4});
  CHECK(mults_text({1, 2, 4}) == "1,2,4");
}

TEST_CASE(
    "voxel_diffusion: U-Net forward and backward are bit-identical for 1, 2 "
    "and 3 threads") {
  UNetArch a = tiny_arch();
  a.resolution = 16;
  a.patch = 2;
  a.mults = {1, 2};
  UNet3d net(a);
  randomize(*net, 7);
  const Tensor x = randn({3, 1, 16, 16, 16}), t = tensor({1.0, 50.0, 999.0});
  std::vector<std::vector<uint8_t>> first;
  const int prev = num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    tbb::task_arena arena(threads);
    std::vector<std::vector<uint8_t>> got;
    arena.execute([&] {
      net->zero_grad();
      const Tensor y = net(x, t);
      (y * y).sum().backward();
      got.push_back(bytes(y));
      for (const Tensor& p : net->parameters())
        got.push_back(bytes(p.grad()));
    });
    if (first.empty())
      first = got;
    else
      CHECK_MESSAGE(got == first, threads, " threads differ from 1 thread");
  }
  set_num_threads(prev);
}

TEST_CASE(
    "voxel_diffusion: U-Net gradients match central differences (float64)") {
  UNetArch a = tiny_arch();
  a.resolution = 4;
  a.width = 4;
  a.mults = {1, 2};
  a.heads = 2;
  a.groups = 2;
  a.num_classes = 2;
  UNet3d net(a);
  net->to(kFloat64);
  randomize(*net, 11);
  const Tensor x = randn({2, 1, 4, 4, 4}, kFloat64).requires_grad_();
  const Tensor t = tensor({3.0, 40.0}, kFloat64);
  const Tensor labels = from_blob(std::vector<int64_t>{1, 0}.data(), {2});
  // The input and the parameters of the attention block and the first
  // residual block (the rest share their ops).
  TensorList inputs{x};
  for (const auto& [name, p] : net->named_parameters())
    if (name.rfind("attn.", 0) == 0 || name.rfind("down0_0.", 0) == 0 ||
        name.rfind("temb1.", 0) == 0 || name.rfind("label_emb.", 0) == 0)
      inputs.push_back(p);
  REQUIRE(inputs.size() > 10);
  CHECK(gradcheck(
      [&](const TensorList&) { return net(x, t, labels); }, inputs,
      {.atol = 1e-6, .rtol = 1e-4}));
}

// ---- training ---------------------------------------------------------------

TEST_CASE("voxel_diffusion: the loss falls on a fixed batch") {
  manual_seed(0);
  UNetArch a = tiny_arch();
  UNet3d net(a);
  const NoiseSchedule s(BetaSchedule::Linear, 100);
  VoxelDataset data(
      {.seed = 1, .resolution = 8, .train_size = 4, .test_size = 1});
  const Tensor x0 = data.range(Split::Train, 0, 4) * 2.0 - 1.0;
  Generator gen(2);
  const Tensor eps = randn(x0.shape(), kFloat32, &gen);
  const std::vector<int64_t> ts{5, 30, 60, 90};
  const Tensor x_t = s.add_noise(x0, eps, ts);
  const Tensor t = tensor({5.0, 30.0, 60.0, 90.0});
  optim::Adam opt(net->parameters(), optim::AdamOptions(3e-3));
  std::vector<double> losses;
  for (int i = 0; i < 60; ++i) {
    opt.zero_grad();
    const Tensor loss = F::mse_loss(net(x_t, t), eps);
    losses.push_back(loss.item());
    REQUIRE(std::isfinite(losses.back()));
    loss.backward();
    opt.step();
  }
  MESSAGE("loss ", losses.front(), " -> ", losses.back());
  CHECK(losses.front() == doctest::Approx(1.0).epsilon(0.3));  // predicts 0
  CHECK(losses.back() < 0.5 * losses.front());
}

TEST_CASE(
    "voxel_diffusion: the EMA follows the float64 recurrence, with its "
    "warm-up") {
  DiffusionConfig c;
  c.arch = tiny_arch();
  c.mults = "1,2";
  c.train_size = 16;
  c.test_size = 2;
  c.batch = 2;
  c.timesteps = 30;
  c.steps = 6;
  c.warmup = 2;
  c.ema_decay = 0.8;
  DiffusionTrainer tr(c);
  const auto& ema = tr.model().ema;
  CHECK(ema->decay_at(0) == doctest::Approx(0.1));
  CHECK(ema->decay_at(100) == 0.8);
  // Reference: a float64 shadow of the network's parameters after each
  // step, from the initial weights.
  const auto named = tr.model().net->named_parameters();
  std::vector<std::vector<double>> ref;
  for (const auto& np : named)
    ref.push_back(np.second.to(kFloat64).contiguous().to_vector<double>());
  for (int64_t n = 0; n < c.steps; ++n) {
    tr.train_step();
    const double d = std::min(0.8, (1.0 + n) / (10.0 + n));
    for (size_t i = 0; i < named.size(); ++i) {
      const std::vector<double> p =
          named[i].second.to(kFloat64).contiguous().to_vector<double>();
      for (size_t j = 0; j < p.size(); ++j)
        ref[i][j] = d * ref[i][j] + (1 - d) * p[j];
    }
  }
  CHECK(ema->num_updates() == c.steps);
  double err = 0, moved = 0;
  for (size_t i = 0; i < named.size(); ++i) {
    const std::vector<double> e = ema->average(named[i].first)
                                      .to(kFloat64)
                                      .contiguous()
                                      .to_vector<double>();
    const std::vector<double> p =
        named[i].second.to(kFloat64).contiguous().to_vector<double>();
    for (size_t j = 0; j < e.size(); ++j) {
      err = std::max(err, std::abs(e[j] - ref[i][j]));
      moved = std::max(moved, std::abs(e[j] - p[j]));
    }
  }
  CHECK(err < 1e-6);
  CHECK(moved > 1e-5);  // the average lags behind the network
  CHECK(tr.history().size() == 6);
  CHECK(tr.history()[0].lr == doctest::Approx(c.lr / 2));  // warm-up
  CHECK(tr.history()[5].lr == doctest::Approx(c.lr));
}

TEST_CASE(
    "voxel_diffusion: samples of the trainer have the data's shape, in [-1, "
    "1]") {
  DiffusionConfig c;
  c.arch = tiny_arch();
  c.mults = "1,2";
  c.conditional = 1;
  c.prediction.assign(1, 'v');  // "v" (g++ 12 -Wrestrict misfires on = "v")
  c.train_size = 12;
  c.test_size = 2;
  c.batch = 2;
  c.timesteps = 10;
  c.schedule = "cosine";
  c.steps = 2;
  DiffusionTrainer tr(c);
  tr.train_step();
  for (const char* sampler : {"ddim", "ddpm"}) {
    Generator g(1);
    int64_t calls = 0;
    const Tensor x = tr.sample(
        3, {.sampler = sampler, .steps = 4, .eta = 0.0}, g,
        [&](int64_t, int64_t, const Tensor&, const Tensor&) { ++calls; });
    CHECK(x.shape() == Shape{3, 1, 8, 8, 8});
    CHECK(calls == (std::string(sampler) == "ddpm" ? 10 : 4));
    CHECK(max_abs_diff(clamp(x, -1.0, 1.0), x) == 0.0);
  }
  // Sampling borrowed the averages; the network has its own weights back.
  const auto named = tr.model().net->named_parameters();
  double differs = 0;
  for (const auto& np : named)
    differs = std::max(
        differs, max_abs_diff(np.second, tr.model().ema->average(np.first)));
  CHECK(differs > 0);
  Generator g;
  require_error([&] { tr.sample(0, {}, g); }, {"n must be >= 1", "got 0"});
  require_error([&] { tr.sample(1, {.sampler = "euler"}, g); }, {"'euler'"});
  require_error([&] { tr.sample(1, {.steps = 11}, g); }, {"steps", "[1, 10]"});
}
