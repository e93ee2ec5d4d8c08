// Values and gradients of composite functions against PyTorch 1.13, from
// tests/golden/autograd.json (made by tools/gen_golden.py, float64),
// including gradient penalties that need double backward (through conv3d).

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace voxgrad {
namespace {

using Fn = std::function<Tensor(const std::map<std::string, Tensor>&)>;

Tensor from_json(const nlohmann::json& j) {
  return tensor(
      j.at("data").get<std::vector<double>>(), j.at("shape").get<Shape>(),
      kFloat64);
}

Tensor elementwise(const Tensor& x, const Tensor& y) {
  Tensor z = tanh(x * y + 1.0) * sigmoid(x) - log(exp(x) + 1.0);
  z = z + sqrt(x * x + 1.0) / (abs(y) + 1.0);
  z = z + leaky_relu(x, 0.1) * silu(y) + softplus(x, 2.0, 3.0);
  z = z + clamp(x, -0.5, 0.5) + maximum(x, 0.3 * y) - minimum(x, -0.2 * y);
  z = z + relu(x) * pow(abs(x) + 0.5, 1.5) + pow(abs(y) + 0.5, x);
  z = z + where(gt(x, 0.0), x, 2.0 * y) - (x - y) / (x * x + 2.0);
  return z.sum();
}

Tensor reductions(const Tensor& x) {
  Tensor s = amax(x, {1}).sum() + var(x, {0, 2}).mean();
  s = s + logsumexp(x, {2}).sum() + x.mean({0, 1}, true).sum();
  const Tensor c = cat({x, 2.0 * x}, 1)
                       .permute({2, 0, 1})
                       .reshape({4, -1})
                       .slice(1, 1, 12, 2);
  s = s + (c * c).sum() + pow(pad(x, {1, 2, 0, 1}, 0.3), 2.0).sum();
  s = s + abs(stack({x, -x}, 0)).mean() +
      x.transpose(0, 2).contiguous().view({-1}).slice(0, 3, 17).sum();
  return s;
}

Tensor matmuls(const Tensor& a, const Tensor& b, const Tensor& v) {
  return (tanh(matmul(a, b)) * 0.5).sum() + pow(matmul(v, b), 2.0).sum() +
         matmul(a, v).sum();
}

Tensor conv_penalty(const Tensor& x, const Tensor& w, const Tensor& b) {
  const Tensor f = softplus(conv3d(x, w, b, 2, 1)).sum();
  const Tensor gx = autograd::grad({f}, {x}, {}, /*create_graph=*/true)[0];
  return (gx * gx).sum();
}

Tensor mlp_penalty(const Tensor& x, const Tensor& w1, const Tensor& w2) {
  const Tensor h = sigmoid(matmul(x, w1)) * tanh(x).sum({1}, true);
  const Tensor f = pow(matmul(h, w2), 2.0).sum() + softplus(h).mean();
  const Tensor gx = autograd::grad({f}, {x}, {}, true)[0];
  return (gx * gx).sum();
}

const std::map<std::string, std::pair<std::vector<std::string>, Fn>>&
functions() {
  static const std::map<std::string, std::pair<std::vector<std::string>, Fn>>
      fns = {
          {"elementwise",
           {{"x", "y"},
            [](const auto& in) {
              return elementwise(in.at("x"), in.at("y"));
            }}},
          {"reductions",
           {{"x"}, [](const auto& in) { return reductions(in.at("x")); }}},
          {"matmul",
           {{"a", "b", "v"},
            [](const auto& in) {
              return matmuls(in.at("a"), in.at("b"), in.at("v"));
            }}},
          {"conv_gradient_penalty",
           {{"x", "w", "b"},
            [](const auto& in) {
              return conv_penalty(in.at("x"), in.at("w"), in.at("b"));
            }}},
          {"mlp_gradient_penalty",
           {{"x", "w1", "w2"},
            [](const auto& in) {
              return mlp_penalty(in.at("x"), in.at("w1"), in.at("w2"));
            }}},
      };
  return fns;
}

}  // namespace

TEST_CASE(
    "composite functions and gradient penalties match PyTorch (golden, "
    "float64)") {
  std::ifstream in(
      std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/autograd.json");
  REQUIRE(in.good());
  const nlohmann::json doc = nlohmann::json::parse(in);
  CHECK(doc.at("dtype") == "float64");
  const auto& cases = doc.at("cases");
  CHECK(cases.size() == functions().size());
  // Not a structured binding: clang 14 cannot capture those in CAPTURE.
  for (const auto& entry : functions()) {
    const std::string& name = entry.first;
    const auto& spec = entry.second;
    CAPTURE(name);
    REQUIRE(cases.contains(name));
    const auto& c = cases.at(name);
    std::map<std::string, Tensor> inputs;
    TensorList wrt;
    for (const std::string& arg : spec.first) {
      inputs[arg] = from_json(c.at("inputs").at(arg)).requires_grad_();
      wrt.push_back(inputs[arg]);
    }
    const Tensor out = spec.second(inputs);
    const Tensor want = from_json(c.at("output"));
    CHECK(out.item() == doctest::Approx(want.item()).epsilon(1e-10));
    const TensorList grads = autograd::grad({out}, wrt);
    for (size_t i = 0; i < wrt.size(); ++i) {
      CAPTURE(spec.first[i]);
      const Tensor g = from_json(c.at("grads").at(spec.first[i]));
      CHECK(test::allclose(grads[i], g, 1e-10, 1e-9));
    }
  }
}

}  // namespace voxgrad
