// voxel_diffusion against PyTorch 1.13: tests/golden/diffusion.json, written
// by tools/gen_diffusion_golden.py (improved-diffusion's schedules and
// sampler steps, and the U-Net written with torch.nn, its attention by
// nn.MultiheadAttention).

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "sampling.hpp"
#include "schedule.hpp"
#include "unet.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;
using json = nlohmann::json;

namespace {

const json& golden() {
  static const json doc = [] {
    std::ifstream f(
        std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/diffusion.json");
    REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/diffusion.json");
    return json::parse(f);
  }();
  return doc;
}

Tensor from_json(const json& t) {
  return tensor(
      t.at("data").get<std::vector<double>>(), t.at("shape").get<Shape>(),
      kFloat64);
}

// |a - b| <= atol + rtol |b| everywhere; returns the worst excess ratio.
void check_close(
    const std::vector<double>& got,
    const std::vector<double>& want,
    double atol,
    double rtol,
    const std::string& what) {
  REQUIRE_MESSAGE(got.size() == want.size(), what, ": sizes differ");
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double r =
        std::abs(got[i] - want[i]) / (atol + rtol * std::abs(want[i]));
    if (r > worst)
      worst = r, at = i;
  }
  CHECK_MESSAGE(
      worst <= 1.0, what, ": entry ", at, " is ", got[at], ", PyTorch ",
      want[at]);
}

// The closed formulas of tools/gen_diffusion_golden.py.
double param_value(size_t k, int64_t i) {
  return 0.3 * std::sin(
                   0.37 * static_cast<double>(i) +
                   1.1 * static_cast<double>(k) + 0.5);
}
double input_value(int64_t i) {
  return 1.5 * std::sin(0.71 * static_cast<double>(i) + 0.2);
}
double upstream_value(int64_t i) {
  return std::cos(0.29 * static_cast<double>(i));
}
double projection(int64_t i) {
  return std::cos(0.13 * static_cast<double>(i) + 0.4);
}

Tensor formula(const Shape& shape, const std::function<double(int64_t)>& f) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = f(i);
  return tensor(v, shape, kFloat64);
}

}  // namespace

TEST_CASE(
    "voxel_diffusion: schedules and sampler steps match improved-diffusion in "
    "PyTorch") {
  for (const json& c : golden().at("schedules")) {
    const std::string name = c.at("schedule").get<std::string>();
    const int64_t T = c.at("T").get<int64_t>();
    CAPTURE(name);
    CAPTURE(T);
    const NoiseSchedule s(parse_beta_schedule(name), T);
    std::vector<int64_t> index;
    if (c.contains("index"))
      index = c.at("index").get<std::vector<int64_t>>();
    else
      for (int64_t t = 0; t < T; ++t)
        index.push_back(t);
    std::vector<double> betas, ac;
    for (int64_t t : index) {
      betas.push_back(s.beta(t));
      ac.push_back(s.alpha_bar(t));
    }
    check_close(
        betas, c.at("betas").get<std::vector<double>>(), 1e-17, 1e-13, "betas");
    check_close(
        ac, c.at("alphas_cumprod").get<std::vector<double>>(), 1e-17, 1e-12,
        "alphas_cumprod");
    const Tensor x = from_json(c.at("x")), eps = from_json(c.at("eps")),
                 z = from_json(c.at("z"));
    for (const json& st : c.at("steps")) {
      const int64_t t = st.at("t").get<int64_t>();
      const std::string sampler = st.at("sampler").get<std::string>();
      CAPTURE(sampler);
      CAPTURE(t);
      const Tensor got = sampler == "ddpm"
                             ? ddpm_step(s, x, eps, t, z)
                             : ddim_step(
                                   s, x, eps, t, st.at("t_prev").get<int64_t>(),
                                   st.at("eta").get<double>(), z);
      check_close(
          got.contiguous().to_vector<double>(),
          st.at("out").get<std::vector<double>>(), 1e-12, 1e-10,
          sampler + " step");
    }
  }
}

TEST_CASE(
    "voxel_diffusion: the U-Net matches a torch.nn one (output, input and "
    "parameter gradients)") {
  for (const json& c : golden().at("unets")) {
    const json& ja = c.at("arch");
    UNetArch a;
    a.resolution = ja.at("resolution").get<int64_t>();
    a.patch = ja.at("patch").get<int64_t>();
    a.width = ja.at("width").get<int64_t>();
    a.mults = ja.at("mults").get<std::vector<int64_t>>();
    a.blocks = ja.at("blocks").get<int64_t>();
    a.heads = ja.at("heads").get<int64_t>();
    a.groups = ja.at("groups").get<int64_t>();
    a.downsample = ja.at("downsample").get<std::string>();
    a.upsample = ja.at("upsample").get<std::string>();
    a.num_classes = ja.at("num_classes").get<int64_t>();
    CAPTURE(ja.dump());
    UNet3d net(a);
    net->to(kFloat64);
    // PyTorch's parameter names, exactly, so its state dicts load.
    std::vector<std::string> names;
    for (const auto& [name, p] : net->named_parameters())
      names.push_back(name);
    std::sort(names.begin(), names.end());
    REQUIRE(names == c.at("parameters").get<std::vector<std::string>>());
    const auto params = net->named_parameters();
    const auto param = [&](const std::string& name) {
      for (const auto& [n, p] : params)
        if (n == name)
          return p;
      FAIL("no parameter ", name);
      return Tensor();
    };
    {
      NoGradGuard no_grad;
      for (size_t k = 0; k < names.size(); ++k) {
        const Tensor p = param(names[k]);
        p.copy_(
            formula(p.shape(), [&](int64_t i) { return param_value(k, i); }));
      }
    }
    const int64_t r = a.resolution;
    const Shape shape{2, 1, r, r, r};
    const Tensor x = formula(shape, input_value).requires_grad_();
    const Tensor t =
        tensor(c.at("t").get<std::vector<double>>(), {2}, kFloat64);
    Tensor labels;
    if (!c.at("labels").is_null()) {
      const std::vector<int64_t> l = c.at("labels").get<std::vector<int64_t>>();
      labels = from_blob(l.data(), {2});
    }
    const Tensor y = net(x, t, labels);
    (y * formula(shape, upstream_value)).sum().backward();
    check_close(
        y.contiguous().to_vector<double>(),
        c.at("y").get<std::vector<double>>(), 1e-10, 1e-8, "output");
    check_close(
        x.grad().to_vector<double>(), c.at("x_grad").get<std::vector<double>>(),
        1e-10, 1e-8, "input gradient");
    for (const std::string& name : names) {
      const std::vector<double> g =
          param(name).grad().contiguous().to_vector<double>();
      double sum = 0, proj = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        sum += g[i];
        proj += g[i] * projection(static_cast<int64_t>(i));
      }
      check_close(
          {sum, proj},
          c.at("param_grad_projections").at(name).get<std::vector<double>>(),
          1e-9, 1e-7, "gradient of " + name);
    }
  }
}
