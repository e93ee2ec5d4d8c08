// nn::utils::spectral_norm and weight_norm against PyTorch 1.13:
// tests/golden/reparam.json, written by tools/gen_reparam_golden.py, run by
// the kit golden harness (kit_golden.hpp: both dtypes, every output,
// gradient and buffer, state loaded strictly under PyTorch's names). A
// spectral_norm case runs training-mode forwards (power iteration updating
// weight_u / weight_v) then eval-mode ones; its outputs are the layer's
// output, the weight forward read and sigma.

#include "kit_golden.hpp"

namespace voxgrad::nn {
namespace {

using json = nlohmann::json;
using kit_golden::Built;
using kit_golden::int3;

const json& golden() {
  return kit_golden::load("reparam.json");
}

/// The layer of a case as a type-erased handle call and its module.
struct Layer {
  std::shared_ptr<Module> module;
  std::function<Tensor(const Tensor&)> call;  // through the handle: hooks run
  std::function<Tensor()> weight;             // m->weight(): what forward read
};

template <class H>
Layer layer_of(H handle) {
  return {
      handle.ptr(), [handle](const Tensor& x) { return handle(x); },
      [handle] { return handle->weight(); }};
}

Layer make_layer(const json& cfg) {
  const std::string kind = cfg.at("layer");
  const bool bias = cfg.at("bias");
  if (kind == "Linear")
    return layer_of(
        Linear(LinearOptions(cfg.at("in"), cfg.at("out")).bias(bias)));
  if (kind == "Conv3d") {
    return layer_of(Conv3d(
        Conv3dOptions(cfg.at("in"), cfg.at("out"), int3(cfg.at("kernel_size")))
            .stride(int3(cfg.at("stride")))
            .padding(int3(cfg.at("padding")))
            .groups(cfg.at("groups"))
            .bias(bias)));
  }
  REQUIRE(kind == "ConvTranspose3d");
  return layer_of(ConvTranspose3d(
      ConvTranspose3dOptions(
          cfg.at("in"), cfg.at("out"), int3(cfg.at("kernel_size")))
          .stride(int3(cfg.at("stride")))
          .padding(int3(cfg.at("padding")))
          .groups(cfg.at("groups"))
          .bias(bias)));
}

Tensor tensor_named(const NamedTensors& list, const std::string& name) {
  const Tensor t = kit_golden::named(list, name);
  REQUIRE_MESSAGE(t.defined(), "no tensor '" << name << "'");
  return t;
}

/// PyTorch's reshape_weight_to_matrix, on PyTorch's layout of the weight.
Tensor weight_matrix(Tensor w, int64_t dim) {
  if (w.dim() == 6)  // a grouped conv's SPEC view
    w = w.flatten(0, 1);
  if (dim != 0) {
    std::vector<int64_t> perm{dim};
    for (int64_t d = 0; d < w.dim(); ++d)
      if (d != dim)
        perm.push_back(d);
    w = w.permute(perm);
  }
  return w.reshape({w.size(0), -1});
}

Built build(const json& c) {
  const json& cfg = c.at("config");
  const Layer l = make_layer(cfg);
  Module& m = *l.module;
  if (c.at("target") == "spectral_norm") {
    const std::optional<int64_t> dim = kit_golden::opt_int(cfg.at("dim"));
    utils::spectral_norm(
        m, "weight", cfg.at("n_power_iterations"), cfg.at("eps"), dim);
    const int64_t torch_dim =
        dim.value_or(cfg.at("layer") == "ConvTranspose3d" ? 1 : 0);
    return {l.module, [l, torch_dim](const TensorList& in) {
              Module& mod = *l.module;
              const Tensor y = l.call(in[0]);
              const NamedTensors buffers = mod.named_buffers();
              const Tensor sigma = matmul(
                  tensor_named(buffers, "weight_u"),
                  matmul(
                      weight_matrix(
                          tensor_named(mod.named_parameters(), "weight_orig"),
                          torch_dim),
                      tensor_named(buffers, "weight_v")));
              return TensorList{y, l.weight(), sigma};
            }};
  }
  REQUIRE(c.at("target") == "weight_norm");
  utils::weight_norm(m, "weight", kit_golden::opt_int(cfg.at("dim")));
  return {l.module, [l](const TensorList& in) {
            const Tensor y = l.call(in[0]);
            return TensorList{y, l.weight()};
          }};
}

}  // namespace

TEST_CASE("reparam golden: the file is PyTorch 1.13's, both dtypes, seeded") {
  const json& g = golden();
  CHECK(g.at("format") == "voxgrad-kit-golden");
  CHECK(g.at("torch_version").get<std::string>().rfind("1.13", 0) == 0);
  int spectral = 0, weight = 0;
  for (const json& c : g.at("cases")) {
    CHECK(c.at("results").contains("float64"));
    CHECK(c.at("results").contains("float32"));
    spectral += c.at("target") == "spectral_norm";
    weight += c.at("target") == "weight_norm";
  }
  CHECK(spectral >= 8);
  CHECK(weight >= 8);
}

TEST_CASE("reparam golden: spectral_norm and weight_norm match PyTorch, f64") {
  for (const json& c : golden().at("cases"))
    kit_golden::run_case(c, build(c), kFloat64, {1e-12, 1e-10});
}

TEST_CASE("reparam golden: spectral_norm and weight_norm match PyTorch, f32") {
  for (const json& c : golden().at("cases"))
    kit_golden::run_case(c, build(c), kFloat32, {1e-5, 1e-5});
}

}  // namespace voxgrad::nn
