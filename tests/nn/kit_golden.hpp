#pragma once
// The harness of the research kit's PyTorch 1.13 goldens (issue 11): reads
// the documents tools/kit_golden.py writes (tests/golden/kit_layers.json,
// reparam.json; test_nn_golden.cpp brings nn_layers.json's older cases to
// this form) and runs a case against them. A case runs in float64 and in
// float32 and is compared with PyTorch's own run in that dtype, from the
// same inputs: every output (index outputs exactly), the gradients of
// sum(y * gy) for every input and parameter, and buffers after each step.
// Module parameters and buffers are loaded with a strict load_state_dict,
// so names match PyTorch's. The test builds the module or op of each case
// (a Built). Set VOXGRAD_GOLDEN_VERBOSE=1 to print the largest errors per
// case.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "test_util.hpp"

namespace voxgrad::nn::kit_golden {

using json = nlohmann::json;

/// tests/golden/<file>, parsed once.
inline const json& load(const std::string& file) {
  static std::map<std::string, json> docs;
  auto it = docs.find(file);
  if (it == docs.end()) {
    std::ifstream f(std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/" + file);
    REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/" << file);
    it = docs.emplace(file, json::parse(f)).first;
  }
  return it->second;
}

/// JSON has no NaN or infinity: the generator stores them as "nan", "inf"
/// and "-inf".
inline double number(const json& v) {
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

inline Tensor from_json(const json& t, Dtype dt) {
  std::vector<double> data;
  for (const json& v : t.at("data"))
    data.push_back(number(v));
  return tensor(data, t.at("shape").get<Shape>(), dt);
}

inline Int3 int3(const json& v) {
  const auto a = v.get<std::vector<int64_t>>();
  REQUIRE(a.size() == 3);
  return Int3(a[0], a[1], a[2]);
}

inline std::optional<int64_t> opt_int(const json& v) {
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

inline Tensor named(const NamedTensors& list, const std::string& name) {
  for (const auto& [n, t] : list)
    if (n == name)
      return t;
  return {};
}

/// Runs case `c`, built as `b` by the test, in `dt` and compares every
/// output, gradient and buffer with PyTorch's run in that dtype.
inline void run_case(
    const json& c, const Built& b, Dtype dt, const Tolerance& tol) {
  const std::string name = c.at("name");
  CAPTURE(name);
  CAPTURE(dtype_name(dt));
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

}  // namespace voxgrad::nn::kit_golden
