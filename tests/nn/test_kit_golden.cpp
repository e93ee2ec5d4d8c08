// The layers and ops of issue 11's layer half (pooling, activations and
// pointwise ops, LayerNorm / InstanceNorm3d / BatchNorm1d, PixelShuffle3d)
// against PyTorch 1.13: tests/golden/kit_layers.json, written by
// tools/gen_kit_golden.py. Every case runs in float64 and in float32 and is
// compared with PyTorch's own run in that dtype, from the same inputs:
// every output (index outputs exactly), the gradients of sum(y * gy) for
// every input and parameter, and buffers after each step. Module parameters
// are loaded with a strict load_state_dict, so names match PyTorch's. Set
// VOXGRAD_GOLDEN_VERBOSE=1 to print the largest errors per case.
// tests/golden/attention.json (tools/gen_attn_golden.py, the same harness)
// holds scaled_dot_product_attention and MultiheadAttention.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>

#include "test_util.hpp"
#include "voxgrad/nn/attention.hpp"

namespace voxgrad::nn {
namespace {

using json = nlohmann::json;

json read_golden(const std::string& name) {
  std::ifstream f(std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/" + name);
  REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/" << name);
  return json::parse(f);
}

const json& golden() {
  static const json doc = read_golden("kit_layers.json");
  return doc;
}

/// tools/gen_attn_golden.py's cases (scaled_dot_product_attention,
/// MultiheadAttention), in the same format.
const json& attention_golden() {
  static const json doc = read_golden("attention.json");
  return doc;
}

/// JSON has no NaN or infinity: the generator stores them as "nan", "inf"
/// and "-inf".
double number(const json& v) {
  if (v.is_number())
    return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "nan")
    return std::numeric_limits<double>::quiet_NaN();
  const bool inf = s == "inf" || s == "-inf";
  REQUIRE_MESSAGE(inf, "bad number in golden: " << s);
  return s == "inf" ? std::numeric_limits<double>::infinity()
                    : -std::numeric_limits<double>::infinity();
}

Tensor from_json(const json& t, Dtype dt) {
  std::vector<double> data;
  for (const json& v : t.at("data"))
    data.push_back(number(v));
  return tensor(data, t.at("shape").get<Shape>(), dt);
}

Int3 int3(const json& v) {
  const auto a = v.get<std::vector<int64_t>>();
  REQUIRE(a.size() == 3);
  return Int3(a[0], a[1], a[2]);
}

std::optional<int64_t> opt_int(const json& v) {
  return v.is_null() ? std::nullopt : std::optional<int64_t>(v.get<int64_t>());
}

struct Built {
  std::shared_ptr<Module> module;  // null for functional ops
  std::function<TensorList(const TensorList&)> forward;
};

template <class M>
Built unary(std::shared_ptr<M> m) {
  return {
      m, [m](const TensorList& in) { return TensorList{m->forward(in[0])}; }};
}

Built op(std::function<Tensor(const Tensor&)> f) {
  return {nullptr, [f](const TensorList& in) { return TensorList{f(in[0])}; }};
}

Built build_op(const std::string& target, const json& cfg) {
  if (target == "sin")
    return op([](const Tensor& x) { return sin(x); });
  if (target == "cos")
    return op([](const Tensor& x) { return cos(x); });
  if (target == "erf")
    return op([](const Tensor& x) { return erf(x); });
  if (target == "flip") {
    const auto dims = cfg.at("dims").get<std::vector<int64_t>>();
    return op([dims](const Tensor& x) { return flip(x, dims); });
  }
  if (target == "roll") {
    const auto shifts = cfg.at("shifts").get<std::vector<int64_t>>();
    const auto dims = cfg.at("dims").get<std::vector<int64_t>>();
    return op([=](const Tensor& x) { return roll(x, shifts, dims); });
  }
  if (target == "cumsum") {
    const int64_t dim = cfg.at("dim");
    return op([dim](const Tensor& x) { return cumsum(x, dim); });
  }
  if (target == "scaled_dot_product_attention") {
    // A boolean mask is in the config (int64 0/1); a float one is input 3.
    const Tensor bool_mask = cfg.at("bool_mask").is_null()
                                 ? Tensor()
                                 : from_json(cfg.at("bool_mask"), kInt64);
    const bool causal = cfg.at("is_causal");
    const std::optional<double> scale =
        cfg.at("scale").is_null()
            ? std::nullopt
            : std::optional<double>(cfg.at("scale").get<double>());
    return {nullptr, [=](const TensorList& in) {
              const Tensor mask = in.size() > 3 ? in[3] : bool_mask;
              return TensorList{functional::scaled_dot_product_attention(
                  in[0], in[1], in[2], mask, 0.0, causal, scale)};
            }};
  }
  FAIL("unknown op in the golden file: " << target);
  return {};
}

Built build_module(const std::string& target, const json& cfg) {
  if (target == "ELU")
    return unary(
        std::make_shared<ELUImpl>(ELUOptions().alpha(cfg.at("alpha"))));
  if (target == "GELU") {
    return unary(std::make_shared<GELUImpl>(
        GELUOptions().approximate(cfg.at("approximate"))));
  }
  if (target == "Mish")
    return unary(std::make_shared<MishImpl>());
  if (target == "Hardtanh") {
    return unary(
        std::make_shared<HardtanhImpl>(HardtanhOptions()
                                           .min_val(cfg.at("min_val"))
                                           .max_val(cfg.at("max_val"))));
  }
  if (target == "Softsign")
    return unary(std::make_shared<SoftsignImpl>());
  if (target == "PReLU") {
    return unary(std::make_shared<PReLUImpl>(
        PReLUOptions()
            .num_parameters(cfg.at("num_parameters"))
            .init(cfg.at("init"))));
  }
  if (target == "LayerNorm") {
    return unary(std::make_shared<LayerNormImpl>(
        LayerNormOptions(cfg.at("normalized_shape").get<std::vector<int64_t>>())
            .eps(cfg.at("eps"))
            .elementwise_affine(cfg.at("elementwise_affine"))));
  }
  if (target == "InstanceNorm3d") {
    return unary(std::make_shared<InstanceNorm3dImpl>(
        InstanceNorm3dOptions(cfg.at("num_features"))
            .eps(cfg.at("eps"))
            .momentum(cfg.at("momentum"))
            .affine(cfg.at("affine"))
            .track_running_stats(cfg.at("track_running_stats"))));
  }
  if (target == "BatchNorm1d") {
    std::optional<double> momentum;
    if (!cfg.at("momentum").is_null())
      momentum = cfg.at("momentum").get<double>();
    return unary(std::make_shared<BatchNorm1dImpl>(
        BatchNorm1dOptions(cfg.at("num_features"))
            .eps(cfg.at("eps"))
            .momentum(momentum)
            .affine(cfg.at("affine"))
            .track_running_stats(cfg.at("track_running_stats"))));
  }
  if (target == "PixelShuffle3d") {
    return unary(std::make_shared<PixelShuffle3dImpl>(
        PixelShuffle3dOptions(cfg.at("upscale_factor"))));
  }
  if (target == "PixelUnshuffle3d") {
    return unary(std::make_shared<PixelUnshuffle3dImpl>(
        PixelUnshuffle3dOptions(cfg.at("downscale_factor"))));
  }
  if (target == "AvgPool3d") {
    return unary(std::make_shared<AvgPool3dImpl>(
        AvgPool3dOptions(int3(cfg.at("kernel_size")))
            .stride(int3(cfg.at("stride")))
            .padding(int3(cfg.at("padding")))
            .ceil_mode(cfg.at("ceil_mode"))
            .count_include_pad(cfg.at("count_include_pad"))
            .divisor_override(opt_int(cfg.at("divisor_override")))));
  }
  if (target == "MaxPool3d") {
    return unary(std::make_shared<MaxPool3dImpl>(
        MaxPool3dOptions(int3(cfg.at("kernel_size")))
            .stride(int3(cfg.at("stride")))
            .padding(int3(cfg.at("padding")))
            .dilation(int3(cfg.at("dilation")))
            .ceil_mode(cfg.at("ceil_mode"))));
  }
  if (target == "AdaptiveMaxPool3d") {
    const json& s = cfg.at("output_size");
    return unary(
        std::make_shared<AdaptiveMaxPool3dImpl>(AdaptiveMaxPool3dOptions(
            opt_int(s.at(0)), opt_int(s.at(1)), opt_int(s.at(2)))));
  }
  if (target == "AdaptiveAvgPool3d") {
    const json& s = cfg.at("output_size");
    return unary(
        std::make_shared<AdaptiveAvgPool3dImpl>(AdaptiveAvgPool3dOptions(
            opt_int(s.at(0)), opt_int(s.at(1)), opt_int(s.at(2)))));
  }
  if (target == "MultiheadAttention") {
    auto m = std::make_shared<MultiheadAttentionImpl>(
        MultiheadAttentionOptions(cfg.at("embed_dim"), cfg.at("num_heads"))
            .bias(cfg.at("bias"))
            .add_bias_kv(cfg.at("add_bias_kv"))
            .add_zero_attn(cfg.at("add_zero_attn"))
            .kdim(cfg.at("kdim"))
            .vdim(cfg.at("vdim"))
            .batch_first(cfg.at("batch_first")));
    // Boolean masks are int64 0/1; float ones follow the input's dtype.
    const auto mask = [&cfg](const char* key, const char* is_bool) {
      return cfg.at(key).is_null()
                 ? Tensor()
                 : from_json(
                       cfg.at(key),
                       cfg.at(is_bool).get<bool>() ? kInt64 : kFloat64);
    };
    const Tensor kpm = mask("key_padding_mask", "key_padding_mask_bool");
    const Tensor am = mask("attn_mask", "attn_mask_bool");
    const bool self = cfg.at("self_attention");
    const bool need = cfg.at("need_weights");
    const bool average = cfg.at("average_attn_weights");
    return {
        m, [=](const TensorList& in) {
          const auto as = [&in](const Tensor& t) {
            return t.defined() && t.dtype() != kInt64 ? t.to(in[0].dtype()) : t;
          };
          const Tensor& k = self ? in[0] : in[1];
          const Tensor& v = self ? in[0] : in[2];
          auto out = m->forward(in[0], k, v, as(kpm), need, as(am), average);
          TensorList r{std::get<0>(out)};
          if (need)
            r.push_back(std::get<1>(out));
          return r;
        }};
  }
  FAIL("unknown module in the golden file: " << target);
  return {};
}

struct Tolerance {
  double atol, rtol;
};

/// Largest errors seen while comparing one case.
struct Errors {
  double abs = 0, rel = 0;
  void compare(
      const Tensor& got,
      const json& want_json,
      const Tolerance& tol,
      const std::string& what) {
    const Tensor want = from_json(want_json, kFloat64);
    REQUIRE_MESSAGE(got.defined(), what << " is undefined");
    REQUIRE_MESSAGE(
        got.shape() == want.shape(),
        what << ": shape " << shape_str(got.shape()) << " vs PyTorch "
             << shape_str(want.shape()));
    const auto g = got.to_vector<double>(), w = want.to_vector<double>();
    bool ok = true;
    for (size_t i = 0; i < g.size(); ++i) {
      if (std::isnan(w[i]) || std::isinf(w[i])) {
        ok = ok && (std::isnan(w[i]) ? std::isnan(g[i]) : g[i] == w[i]);
        continue;
      }
      const double d = std::abs(g[i] - w[i]);
      abs = std::max(abs, d);
      rel = std::max(rel, d / std::max(std::abs(w[i]), 1e-3));
      ok = ok && d <= tol.atol + tol.rtol * std::abs(w[i]);
    }
    CHECK_MESSAGE(
        ok, what << ": max abs error " << abs << " exceeds atol " << tol.atol
                 << " + rtol " << tol.rtol);
  }
};

Tensor named(const NamedTensors& list, const std::string& name) {
  for (const auto& [n, t] : list)
    if (n == name)
      return t;
  return {};
}

void run_case(const json& c, Dtype dt, const Tolerance& tol) {
  const std::string name = c.at("name");
  CAPTURE(name);
  CAPTURE(dtype_name(dt));
  const Built b = c.at("kind") == "op"
                      ? build_op(c.at("target"), c.at("config"))
                      : build_module(c.at("target"), c.at("config"));
  if (b.module) {
    b.module->to(dt);
    NamedTensors state;
    for (const auto& [k, v] : c.at("params").items())
      state.emplace_back(k, from_json(v, dt));
    b.module->load_state_dict(state);  // strict: PyTorch's names, exactly
  }
  const json& results = c.at("results").at(dtype_name(dt));
  Errors err;
  for (size_t s = 0; s < c.at("steps").size(); ++s) {
    const json& step = c.at("steps")[s];
    const json& want = results[s];
    const std::string at = "step " + std::to_string(s) + " ";
    if (b.module) {
      b.module->train(step.at("training").get<bool>());
      b.module->zero_grad();
    }
    TensorList inputs;
    for (const json& x : step.at("inputs"))
      inputs.push_back(from_json(x, dt).requires_grad_());
    const TensorList outs = b.forward(inputs);
    REQUIRE(outs.size() == want.at("outputs").size());
    Tensor loss = scalar_tensor(0, dt);
    for (size_t k = 0; k < outs.size(); ++k) {
      err.compare(
          outs[k], want.at("outputs")[k], tol,
          at + "output " + std::to_string(k));
      if (!step.at("gy")[k].is_null())  // null for index outputs
        loss = loss + (outs[k] * from_json(step.at("gy")[k], dt)).sum();
    }
    loss.backward();
    for (const auto& [k, v] : want.at("grads").items()) {
      const Tensor g = k.rfind("input", 0) == 0
                           ? inputs[std::stoul(k.substr(5))].grad()
                           : named(b.module->named_parameters(), k).grad();
      err.compare(g, v, tol, at + "gradient of " + k);
    }
    if (want.contains("buffers")) {
      const NamedTensors buffers = b.module->named_buffers();
      for (const auto& [k, v] : want.at("buffers").items())
        err.compare(named(buffers, k), v, tol, at + "buffer " + k);
    }
  }
  if (std::getenv("VOXGRAD_GOLDEN_VERBOSE")) {
    std::cout << dtype_name(dt) << "  max abs " << err.abs << "  max rel "
              << err.rel << "  " << name << "\n";
  }
}

}  // namespace

TEST_CASE("kit golden: the file is PyTorch 1.13's, both dtypes, seeded") {
  const json& g = golden();
  CHECK(g.at("format") == "voxgrad-kit-golden");
  CHECK(g.at("torch_version").get<std::string>().rfind("1.13", 0) == 0);
  CHECK(g.at("cases").size() >= 59);
  for (const json& c : g.at("cases")) {
    CHECK(c.at("results").contains("float64"));
    CHECK(c.at("results").contains("float32"));
  }
}

TEST_CASE("kit golden: layers and ops match PyTorch in float64") {
  for (const json& c : golden().at("cases"))
    run_case(c, kFloat64, {1e-12, 1e-10});
}

TEST_CASE("kit golden: layers and ops match PyTorch in float32") {
  for (const json& c : golden().at("cases"))
    run_case(c, kFloat32, {1e-5, 1e-5});
}

TEST_CASE("attention golden: the file is PyTorch 1.13's, both dtypes") {
  const json& g = attention_golden();
  CHECK(g.at("format") == "voxgrad-kit-golden");
  CHECK(g.at("torch_version").get<std::string>().rfind("1.13", 0) == 0);
  CHECK(g.at("cases").size() >= 16);
  for (const json& c : g.at("cases")) {
    CHECK(c.at("results").contains("float64"));
    CHECK(c.at("results").contains("float32"));
  }
}

TEST_CASE(
    "attention golden: SDPA and MultiheadAttention match PyTorch in "
    "float64") {
  for (const json& c : attention_golden().at("cases"))
    run_case(c, kFloat64, {1e-12, 1e-10});
}

TEST_CASE(
    "attention golden: SDPA and MultiheadAttention match PyTorch in "
    "float32") {
  for (const json& c : attention_golden().at("cases"))
    run_case(c, kFloat32, {1e-5, 1e-5});
}

}  // namespace voxgrad::nn
