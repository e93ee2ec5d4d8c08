// int64 labels, indexing, softmax family, classification and robust losses
// and Embedding against PyTorch 1.13: tests/golden/kit_core.json, written by
// tools/gen_kit_core_golden.py. Every case runs in float64 (tolerances near
// rounding) and float32 (float32 tolerances) and compares every output
// (int64 ones exactly) and the gradients of sum_k <out_k, gy_k> for every
// input PyTorch differentiated. Cases PyTorch refused must be refused with
// a voxgrad::Error. Set VOXGRAD_GOLDEN_VERBOSE=1 to print each case's
// largest error.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>

#include "test_util.hpp"

namespace voxgrad {
namespace {

using json = nlohmann::json;
namespace F = nn::functional;
using Inputs = std::map<std::string, Tensor>;
using Fn = std::function<TensorList(const Inputs&, const json&)>;

const json& golden() {
  static const json doc = [] {
    std::ifstream f(
        std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/kit_core.json");
    REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/kit_core.json");
    return json::parse(f);
  }();
  return doc;
}

double number(const json& v) {
  if (v.is_string()) {
    const std::string s = v;
    if (s == "nan")
      return std::nan("");
    return s == "inf" ? INFINITY : -INFINITY;
  }
  return v.get<double>();
}

/// A tensor of the golden file; float ones in `dt`.
Tensor from_json(const json& t, Dtype dt) {
  const Shape shape = t.at("shape").get<Shape>();
  if (t.at("dtype") == "int64") {
    const auto v = t.at("data").get<std::vector<int64_t>>();
    return from_blob(v.data(), shape);
  }
  std::vector<double> v;
  for (const auto& e : t.at("data"))
    v.push_back(number(e));
  return tensor(v, shape, dt);
}

nn::Reduction reduction_of(const json& cfg) {
  const std::string r = cfg.at("reduction");
  if (r == "none")
    return nn::Reduction::None;
  if (r == "sum")
    return nn::Reduction::Sum;
  if (r == "batchmean")
    return nn::Reduction::BatchMean;
  return nn::Reduction::Mean;
}

std::optional<int64_t> optional_dim(const json& cfg) {
  if (!cfg.contains("dim") || cfg.at("dim").is_null())
    return std::nullopt;
  return cfg.at("dim").get<int64_t>();
}

TensorList two(const std::tuple<Tensor, Tensor>& t) {
  return {std::get<0>(t), std::get<1>(t)};
}

const std::map<std::string, Fn>& functions() {
  static const std::map<std::string, Fn> fns = {
      {"arange_int64",
       [](const Inputs&, const json& c) -> TensorList {
         return {arange(c.at("start"), c.at("end"), c.at("step"), kInt64)};
       }},
      {"to_int64",
       [](const Inputs& in, const json&) -> TensorList {
         return {in.at("x").to(kInt64)};
       }},
      {"compare_int64",
       [](const Inputs& in, const json&) -> TensorList {
         const Tensor &a = in.at("a"), &b = in.at("b");
         return {eq(a, b), lt(a, b), ge(a, b)};
       }},
      {"index_select",
       [](const Inputs& in, const json& c) -> TensorList {
         return {index_select(in.at("x"), c.at("dim"), in.at("index"))};
       }},
      {"index_add",
       [](const Inputs& in, const json& c) -> TensorList {
         return {index_add(
             in.at("self"), c.at("dim"), in.at("index"), in.at("source"),
             c.at("alpha"))};
       }},
      {"gather",
       [](const Inputs& in, const json& c) -> TensorList {
         return {gather(in.at("x"), c.at("dim"), in.at("index"))};
       }},
      {"scatter_add",
       [](const Inputs& in, const json& c) -> TensorList {
         return {scatter_add(
             in.at("self"), c.at("dim"), in.at("index"), in.at("src"))};
       }},
      {"scatter",
       [](const Inputs& in, const json& c) -> TensorList {
         return {
             scatter(in.at("self"), c.at("dim"), in.at("index"), in.at("src"))};
       }},
      {"scatter_value",
       [](const Inputs& in, const json& c) -> TensorList {
         return {scatter(
             in.at("self"), c.at("dim"), in.at("index"),
             c.at("value").get<double>())};
       }},
      {"take_along_dim",
       [](const Inputs& in, const json& c) -> TensorList {
         return {take_along_dim(in.at("x"), in.at("indices"), optional_dim(c))};
       }},
      {"masked_fill",
       [](const Inputs& in, const json& c) -> TensorList {
         return {masked_fill(in.at("x"), in.at("mask"), c.at("value"))};
       }},
      {"one_hot",
       [](const Inputs& in, const json& c) -> TensorList {
         return {one_hot(in.at("labels"), c.at("num_classes"))};
       }},
      {"argmax",
       [](const Inputs& in, const json& c) -> TensorList {
         return {argmax(in.at("x"), optional_dim(c), c.at("keepdim"))};
       }},
      {"argmin",
       [](const Inputs& in, const json& c) -> TensorList {
         return {argmin(in.at("x"), optional_dim(c), c.at("keepdim"))};
       }},
      {"max_dim",
       [](const Inputs& in, const json& c) -> TensorList {
         return two(in.at("x").max(c.at("dim"), c.at("keepdim")));
       }},
      {"min_dim",
       [](const Inputs& in, const json& c) -> TensorList {
         return two(in.at("x").min(c.at("dim"), c.at("keepdim")));
       }},
      {"amax",
       [](const Inputs& in, const json& c) -> TensorList {
         return {in.at("x").amax(c.at("dims"), c.at("keepdim"))};
       }},
      {"amin",
       [](const Inputs& in, const json& c) -> TensorList {
         return {in.at("x").amin(c.at("dims"), c.at("keepdim"))};
       }},
      {"topk",
       [](const Inputs& in, const json& c) -> TensorList {
         return two(topk(in.at("x"), c.at("k"), c.at("dim"), c.at("largest")));
       }},
      {"softmax",
       [](const Inputs& in, const json& c) -> TensorList {
         return {softmax(in.at("x"), c.at("dim"))};
       }},
      {"log_softmax",
       [](const Inputs& in, const json& c) -> TensorList {
         return {F::log_softmax(in.at("x"), c.at("dim").get<int64_t>())};
       }},
      {"logsumexp",
       [](const Inputs& in, const json& c) -> TensorList {
         return {logsumexp(in.at("x"), c.at("dims"), c.at("keepdim"))};
       }},
      {"cross_entropy",
       [](const Inputs& in, const json& c) -> TensorList {
         auto o = F::CrossEntropyFuncOptions(reduction_of(c))
                      .ignore_index(c.at("ignore_index"))
                      .label_smoothing(c.at("label_smoothing"));
         if (in.count("weight"))
           o.weight(in.at("weight"));
         return {F::cross_entropy(in.at("input"), in.at("target"), o)};
       }},
      {"nll_loss",
       [](const Inputs& in, const json& c) -> TensorList {
         auto o = F::NLLLossFuncOptions(reduction_of(c))
                      .ignore_index(c.at("ignore_index"));
         if (in.count("weight"))
           o.weight(in.at("weight"));
         return {F::nll_loss(in.at("input"), in.at("target"), o)};
       }},
      {"kl_div",
       [](const Inputs& in, const json& c) -> TensorList {
         return {F::kl_div(
             in.at("input"), in.at("target"),
             F::KLDivFuncOptions(reduction_of(c))
                 .log_target(c.at("log_target")))};
       }},
      {"huber_loss",
       [](const Inputs& in, const json& c) -> TensorList {
         return {F::huber_loss(
             in.at("input"), in.at("target"),
             F::HuberLossFuncOptions(reduction_of(c)).delta(c.at("delta")))};
       }},
      {"smooth_l1_loss",
       [](const Inputs& in, const json& c) -> TensorList {
         return {F::smooth_l1_loss(
             in.at("input"), in.at("target"),
             F::SmoothL1LossFuncOptions(reduction_of(c)).beta(c.at("beta")))};
       }},
      {"embedding",
       [](const Inputs& in, const json& c) -> TensorList {
         F::EmbeddingFuncOptions o;
         if (!c.at("padding_idx").is_null())
           o.padding_idx(c.at("padding_idx").get<int64_t>());
         if (!c.at("max_norm").is_null())
           o.max_norm(c.at("max_norm").get<double>());
         o.norm_type(c.at("norm_type"));
         o.scale_grad_by_freq(c.at("scale_grad_by_freq"));
         const Tensor& w = in.at("weight");
         const Tensor out = F::embedding(in.at("indices"), w, o);
         return {out, w.detach().clone()};
       }},
      {"embedding_bag",
       [](const Inputs& in, const json& c) -> TensorList {
         F::EmbeddingBagFuncOptions o;
         const std::string mode = c.at("mode");
         o.mode(
             mode == "sum"   ? nn::EmbeddingBagMode::Sum
             : mode == "max" ? nn::EmbeddingBagMode::Max
                             : nn::EmbeddingBagMode::Mean);
         if (!c.at("padding_idx").is_null())
           o.padding_idx(c.at("padding_idx").get<int64_t>());
         if (!c.at("max_norm").is_null())
           o.max_norm(c.at("max_norm").get<double>());
         o.include_last_offset(c.at("include_last_offset"));
         if (in.count("offsets"))
           o.offsets(in.at("offsets"));
         if (in.count("per_sample_weights"))
           o.per_sample_weights(in.at("per_sample_weights"));
         const Tensor& w = in.at("weight");
         const Tensor out = F::embedding_bag(in.at("input"), w, o);
         return {out, w.detach().clone()};
       }},
  };
  return fns;
}

/// |got - want| <= atol + rtol |want| everywhere, NaN where NaN, equal
/// infinities; the largest error goes to `worst`.
bool close(
    const Tensor& got,
    const Tensor& want,
    double atol,
    double rtol,
    double& worst) {
  if (got.shape() != want.shape())
    return false;
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  bool ok = true;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i]) || std::isinf(w[i])) {
      ok = ok && (std::isnan(w[i]) ? std::isnan(g[i]) : g[i] == w[i]);
      continue;
    }
    const double e = std::abs(g[i] - w[i]);
    worst = std::max(worst, std::isnan(e) ? INFINITY : e);
    ok = ok && e <= atol + rtol * std::abs(w[i]);
  }
  return ok;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>())
    if (std::isfinite(v))
      m = std::max(m, std::abs(v));
  return m;
}

void run_case(const json& c, Dtype dt) {
  const std::string name = c.at("name");
  CAPTURE(name);
  CAPTURE(dtype_name(dt));
  const auto fn = functions().find(c.at("fn").get<std::string>());
  REQUIRE_MESSAGE(fn != functions().end(), "unknown fn " << c.at("fn"));
  const json grads = c.value("grads", json::object());
  Inputs in;
  TensorList wrt;
  std::vector<std::string> wrt_names;
  for (const auto& [k, v] : c.at("inputs").items()) {
    Tensor t = from_json(v, dt);
    if (grads.contains(k)) {
      t.requires_grad_();
      wrt.push_back(t);
      wrt_names.push_back(k);
    }
    in[k] = t;
  }
  if (c.contains("error")) {
    const std::string err =
        test::error_of([&] { fn->second(in, c.at("config")); });
    CHECK_MESSAGE(
        !err.empty(), "PyTorch refused this ("
                          << c.at("error").get<std::string>()
                          << ") but voxgrad accepted it");
    return;
  }
  const TensorList out = fn->second(in, c.at("config"));
  const auto& want_out = c.at("outputs");
  REQUIRE(out.size() == want_out.size());
  const bool f64 = dt == kFloat64;
  double worst = 0;
  TensorList float_outs;
  for (size_t k = 0; k < out.size(); ++k) {
    CAPTURE(k);
    const Tensor want = from_json(want_out[k], kFloat64);
    if (want_out[k].at("dtype") == "int64") {
      CHECK(out[k].dtype() == kInt64);
      CHECK(out[k].shape() == want.shape());
      CHECK(out[k].to_vector<int64_t>() == want.to_vector<int64_t>());
      continue;
    }
    CHECK(out[k].dtype() == dt);
    float_outs.push_back(out[k]);
    const double scale = std::max(1.0, max_abs(want));
    CHECK_MESSAGE(
        close(
            out[k], want, (f64 ? 1e-12 : 2e-6) * scale, f64 ? 1e-10 : 2e-5,
            worst),
        "output " << k << " differs; got " << out[k]);
  }
  if (!wrt.empty() && c.contains("gys")) {
    TensorList gys;
    for (const auto& g : c.at("gys"))
      gys.push_back(from_json(g, dt));
    REQUIRE(gys.size() == float_outs.size());
    // An output off the graph (the table after max_norm's renormalisation)
    // adds nothing to the gradients.
    TensorList ys, gs;
    for (size_t k = 0; k < float_outs.size(); ++k) {
      if (float_outs[k].requires_grad()) {
        ys.push_back(float_outs[k]);
        gs.push_back(gys[k]);
      }
    }
    REQUIRE(!ys.empty());
    const TensorList got =
        autograd::grad(ys, wrt, gs, false, std::nullopt, true);
    for (size_t k = 0; k < wrt.size(); ++k) {
      CAPTURE(wrt_names[k]);
      const Tensor want = from_json(grads.at(wrt_names[k]), kFloat64);
      const Tensor g = got[k].defined() ? got[k] : zeros(want.shape(), dt);
      const double scale = std::max(1.0, max_abs(want));
      CHECK_MESSAGE(
          close(
              g, want, (f64 ? 1e-11 : 5e-6) * scale, f64 ? 1e-9 : 5e-5, worst),
          "gradient of " << wrt_names[k] << " differs; got " << g);
    }
  }
  if (std::getenv("VOXGRAD_GOLDEN_VERBOSE"))
    std::cout << dtype_name(dt) << " " << name << ": max error " << worst
              << "\n";
}

}  // namespace

TEST_CASE("kit ops match PyTorch 1.13 (golden, float64 and float32)") {
  const json& doc = golden();
  CHECK(doc.at("generator") == "tools/gen_kit_core_golden.py");
  const auto& cases = doc.at("cases");
  CHECK(cases.size() >= 150);
  std::map<std::string, int> per_fn;
  for (const auto& c : cases) {
    ++per_fn[c.at("fn")];
    run_case(c, kFloat64);
    run_case(c, kFloat32);
  }
  // Every function of the table is exercised by the file.
  for (const auto& entry : functions())
    CHECK_MESSAGE(
        per_fn[entry.first] > 0, "no golden case for " << entry.first);
}

}  // namespace voxgrad
