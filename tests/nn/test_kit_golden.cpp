// The layers and ops of issue 11's layer half (pooling with its indices, max
// unpooling (NOTE [ Max unpooling ]: the gradient with repeated indices is the
// derivative, which the generator takes through PyTorch), activations and
// pointwise ops, LayerNorm / InstanceNorm3d / BatchNorm1d, PixelShuffle3d)
// against PyTorch 1.13: tests/golden/kit_layers.json, written by
// tools/gen_kit_golden.py, run by the kit golden harness (kit_golden.hpp:
// both dtypes, every output (index outputs exactly), gradient and buffer).
// tests/golden/attention.json (tools/gen_attn_golden.py, the same harness)
// holds scaled_dot_product_attention and MultiheadAttention.

#include <tuple>

#include "kit_golden.hpp"
#include "voxgrad/nn/attention.hpp"
#include "voxgrad/nn/max_unpool.hpp"

namespace voxgrad::nn {
namespace {

using json = nlohmann::json;
using kit_golden::Built;
using kit_golden::from_json;
using kit_golden::int3;
using kit_golden::opt_int;
using kit_golden::Tolerance;
using kit_golden::unary;

const json& golden() {
  return kit_golden::load("kit_layers.json");
}

/// tools/gen_attn_golden.py's cases (scaled_dot_product_attention,
/// MultiheadAttention), in the same format.
const json& attention_golden() {
  return kit_golden::load("attention.json");
}

/// forward_with_indices: the values and the int64 indices.
template <class M>
Built with_indices(std::shared_ptr<M> m) {
  return {m, [m](const TensorList& in) {
            Tensor y, i;
            std::tie(y, i) = m->forward_with_indices(in[0]);
            return TensorList{y, i};
          }};
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
    auto m = std::make_shared<MaxPool3dImpl>(
        MaxPool3dOptions(int3(cfg.at("kernel_size")))
            .stride(int3(cfg.at("stride")))
            .padding(int3(cfg.at("padding")))
            .dilation(int3(cfg.at("dilation")))
            .ceil_mode(cfg.at("ceil_mode")));
    return cfg.value("return_indices", false) ? with_indices(m) : unary(m);
  }
  if (target == "AdaptiveMaxPool3d") {
    const json& s = cfg.at("output_size");
    auto m = std::make_shared<AdaptiveMaxPool3dImpl>(AdaptiveMaxPool3dOptions(
        opt_int(s.at(0)), opt_int(s.at(1)), opt_int(s.at(2))));
    return cfg.value("return_indices", false) ? with_indices(m) : unary(m);
  }
  if (target == "MaxUnpool3d") {
    auto m = std::make_shared<MaxUnpool3dImpl>(
        MaxUnpool3dOptions(int3(cfg.at("kernel_size")))
            .stride(int3(cfg.at("stride")))
            .padding(int3(cfg.at("padding"))));
    const Tensor indices = from_json(cfg.at("indices"), kInt64);
    std::optional<std::vector<int64_t>> size;
    if (!cfg.at("output_size").is_null())
      size = cfg.at("output_size").get<std::vector<int64_t>>();
    return {m, [m, indices, size](const TensorList& in) {
              return TensorList{m->forward(in[0], indices, size)};
            }};
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

void run_case(const json& c, Dtype dt, const Tolerance& tol) {
  kit_golden::run_case(
      c,
      c.at("kind") == "op" ? build_op(c.at("target"), c.at("config"))
                           : build_module(c.at("target"), c.at("config")),
      dt, tol);
}

}  // namespace

TEST_CASE("kit golden: the file is PyTorch 1.13's, both dtypes, seeded") {
  const json& g = golden();
  CHECK(g.at("format") == "voxgrad-kit-golden");
  CHECK(g.at("torch_version").get<std::string>().rfind("1.13", 0) == 0);
  CHECK(g.at("cases").size() >= 71);
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
