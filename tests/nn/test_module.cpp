// nn::Module: registration rules, traversal order, modes, state dicts.

#include <sstream>

#include "test_util.hpp"
#include "voxgrad/nn/init.hpp"
#include "voxgrad/nn/module.hpp"

namespace voxgrad::nn {
namespace {

struct Affine : Module {
  Tensor w, b, count;
  explicit Affine(int64_t n) {
    w = register_parameter("w", ones({n}));
    b = register_parameter("b", zeros({n}));
    count = register_buffer("count", zeros({1}));
  }
  std::string name() const override {
    return "Affine";
  }
  Tensor forward(const Tensor& x) override {
    return x * w + b;
  }
};

struct Net : Module {
  std::shared_ptr<Affine> first, second;
  Net() {
    first = register_module("first", std::make_shared<Affine>(3));
    second = register_module("second", std::make_shared<Affine>(3));
    register_parameter("scale", full({1}, 2.0));
  }
  std::string name() const override {
    return "Net";
  }
  Tensor forward(const Tensor& x) override {
    return second->forward(first->forward(x));
  }
};

}  // namespace

TEST_CASE("named_parameters are dotted and in registration order") {
  Net net;
  std::vector<std::string> names;
  for (const auto& [n, t] : net.named_parameters())
    names.push_back(n);
  CHECK(
      names == std::vector<std::string>{
                   "scale", "first.w", "first.b", "second.w", "second.b"});
  CHECK(net.parameters(false).size() == 1);
  CHECK(net.named_buffers().size() == 2);
  CHECK(net.named_buffers()[1].first == "second.count");
  CHECK(net.children().size() == 2);
  const auto mods = net.named_modules();
  CHECK(mods.size() == 3);
  CHECK(mods[2].first == "second");
  CHECK(net.num_parameters() == 13);
  for (const Tensor& p : net.parameters())
    CHECK(p.requires_grad());
  for (const Tensor& b : net.buffers())
    CHECK_FALSE(b.requires_grad());
}

TEST_CASE("registration rejects bad names") {
  struct Bad : Module {
    void add(const std::string& n) {
      register_parameter(n, zeros({1}));
    }
    void add_module(const std::string& n) {
      register_module(n, std::make_shared<Affine>(1));
    }
  } bad;
  bad.add("ok");
  CHECK_ERROR_CONTAINS(bad.add(""), "empty");
  CHECK_ERROR_CONTAINS(bad.add("a.b"), "'a.b'", "'.'");
  CHECK_ERROR_CONTAINS(bad.add("ok"), "'ok'", "already registered");
  CHECK_ERROR_CONTAINS(bad.add_module("ok"), "'ok'", "already registered");
}

TEST_CASE("train/eval, zero_grad, apply and to(dtype) reach every submodule") {
  Net net;
  net.eval();
  CHECK_FALSE(net.first->is_training());
  net.train();
  CHECK(net.second->is_training());
  net.forward(ones({3})).sum().backward();
  CHECK(net.first->w.grad().defined());
  net.zero_grad(false);
  CHECK(net.first->w.grad().sum().item() == 0.0);
  net.zero_grad();
  CHECK_FALSE(net.first->w.grad().defined());
  int visited = 0;
  net.apply([&](Module&) { ++visited; });
  CHECK(visited == 3);
  net.to(kFloat64);
  CHECK(net.first->w.dtype() == kFloat64);  // the member handle sees it
  CHECK(net.first->count.dtype() == kFloat64);
  CHECK(net.forward(ones({3}, kFloat64)).dtype() == kFloat64);
}

TEST_CASE(
    "load_state_dict is strict, reports every problem, and changes nothing on "
    "failure") {
  Net src, dst;
  {
    NoGradGuard g;
    src.first->w.fill_(3.0);
  }
  dst.load_state_dict(src.state_dict());
  CHECK(dst.first->w.to_vector<float>() == std::vector<float>{3, 3, 3});
  CHECK_FALSE(dst.first->w.shares_storage_with(src.first->w));

  NamedTensors bad = src.state_dict();
  bad.erase(bad.begin());                 // missing "scale"
  bad.emplace_back("extra", zeros({1}));  // unexpected
  bad[0].second = zeros({4});             // first.w: wrong shape
  bad[1].second = zeros({3}, kFloat64);   // first.b: wrong dtype
  Net fresh;
  const std::string msg = test::error_of([&] { fresh.load_state_dict(bad); });
  for (const char* part :
       {"4 problem", "'scale'", "'extra'", "first.w", "[4]", "first.b",
        "float64", "nothing was loaded"})
    CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
  CHECK(fresh.first->w.to_vector<float>() == std::vector<float>{1, 1, 1});

  NamedTensors partial = src.state_dict();
  partial.erase(partial.begin());
  partial.emplace_back("extra", zeros({1}));
  const LoadResult r = fresh.load_state_dict(partial, /*strict=*/false);
  CHECK(r.missing_keys == std::vector<std::string>{"scale"});
  CHECK(r.unexpected_keys == std::vector<std::string>{"extra"});
  CHECK(fresh.first->w.to_vector<float>() == std::vector<float>{3, 3, 3});
}

TEST_CASE("printing shows the tree, parameter shapes and the total") {
  Net net;
  std::ostringstream os;
  os << net;
  CHECK(
      os.str() ==
      "Net(scale [1]\n  (first): Affine(w [3], b [3])\n  (second): Affine(w "
      "[3], b [3])\n)  # 13 parameters");
}

TEST_CASE("a module without forward(Tensor) says so") {
  Module m;
  CHECK_ERROR_CONTAINS(m.forward(ones({1})), "Module", "forward");
}

TEST_CASE("init: fans, gains and bounds follow torch.nn.init") {
  CHECK(init::calculate_fans(zeros({8, 4, 3, 3, 3})).fan_in == 108);
  CHECK(init::calculate_fans(zeros({8, 4, 3, 3, 3})).fan_out == 216);
  CHECK(
      init::calculate_fans(zeros({2, 4, 3, 3, 3, 3})).fan_in ==
      81);  // (g, a/g, b, k)
  CHECK(init::calculate_fans(zeros({2, 4, 3, 3, 3, 3})).fan_out == 216);
  CHECK(init::calculate_fans(zeros({5, 7})).fan_in == 7);
  CHECK(init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(
      init::calculate_gain("leaky_relu", std::sqrt(5.0)) ==
      doctest::Approx(std::sqrt(1.0 / 3.0)));
  CHECK_ERROR_CONTAINS(init::calculate_gain("gelu"), "gelu");
  Generator g(1);
  Tensor w = zeros({64, 27});
  init::kaiming_uniform_(
      w, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", &g);
  const double bound = 1.0 / std::sqrt(27.0);
  CHECK(amax(abs(w)).item() <= bound);
  CHECK(amax(abs(w)).item() > 0.9 * bound);
  init::xavier_normal_(w, 1.0, &g);
  CHECK(
      std::sqrt(var(w).item()) ==
      doctest::Approx(std::sqrt(2.0 / 91)).epsilon(0.05));
  CHECK_ERROR_CONTAINS(init::xavier_uniform_(zeros({3})), "at least 2");
}

}  // namespace voxgrad::nn
