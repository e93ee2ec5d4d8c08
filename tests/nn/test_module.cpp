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
  Tensor forward(const Tensor& x) {
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
  Tensor forward(const Tensor& x) {
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

// ---- handles (ModuleHolder / VOXGRAD_MODULE) -------------------------------

namespace {

/// Two inputs, children by handle (the short form), a buffer.
struct GenImpl : Module {
  GenImpl(int64_t latent, int64_t classes) {
    fc = register_module("fc", Linear(latent + classes, 8));
    head = register_module("head", std::make_shared<LinearImpl>(8, 2));
    register_buffer("calls", zeros({1}));
  }
  Tensor forward(const Tensor& z, const Tensor& label) {
    return head->forward(tanh(fc(cat({z, label}, 1))));
  }
  /// A second overload: forward picks by arguments.
  Tensor forward(const Tensor& z) {
    return forward(z, zeros({z.size(0), 3}));
  }
  Linear fc;  // empty until registered
  std::shared_ptr<LinearImpl> head;
};
VOXGRAD_MODULE(Gen);

/// Default-constructible, so its handle's default constructor makes one.
struct CounterImpl : Module {
  int64_t forward() {
    return ++count;
  }
  int64_t count = 0;
};
VOXGRAD_MODULE(Counter);

}  // namespace

TEST_CASE("a handle calls forward with any arguments and reaches the module") {
  Gen g(4, 3);
  const Tensor z = randn({5, 4}), label = zeros({5, 3});
  const Tensor y = g(z, label);
  CHECK(y.shape() == Shape{5, 2});
  CHECK(test::bit_equal(g(z), y));  // the one-argument overload
  CHECK(test::bit_equal(g.forward(z, label), y));
  CHECK(test::bit_equal(g->forward(z, label), y));
  CHECK(g->name() == "Gen");  // the class name without "Impl"
  CHECK(g->fc->weight().shape() == Shape{8, 7});
  CHECK(g->fc.ptr() == g->named_children().at(0).second);
  std::vector<std::string> names;
  for (const auto& [n, t] : g->named_parameters())
    names.push_back(n);
  CHECK(
      names == std::vector<std::string>{
                   "fc.weight", "fc.bias", "head.weight", "head.bias"});
  // Copies share the module; the handle converts to Module& / Impl&.
  Gen same = g;
  CHECK(same.get() == g.get());
  Module& as_module = g;
  CHECK(&as_module == g.get());
  GenImpl& as_impl = g;
  CHECK(as_impl.fc.get() == g->fc.get());
  std::ostringstream a, b;
  a << g;
  b << *g;
  CHECK(a.str() == b.str());
  CHECK(a.str().rfind("Gen(\n  (fc): Linear(", 0) == 0);
  // Any return type.
  Counter counter;
  CHECK(counter() == 1);
  CHECK(counter() == 2);
}

TEST_CASE("an empty handle says how to fill it") {
  Linear empty;  // LinearImpl has no default constructor
  CHECK(empty.is_empty());
  CHECK_FALSE(empty);
  CHECK_ERROR_CONTAINS(
      empty(ones({1, 2})), "nn::Linear", "empty", "register_module");
  Conv3d none = nullptr;
  CHECK_ERROR_CONTAINS(none->weight(), "nn::Conv3d", "empty");
  none = std::make_shared<Conv3dImpl>(Conv3dOptions(1, 1, 1));
  CHECK(none->weight().shape() == Shape{1, 1, 1, 1, 1});
  CHECK_FALSE(ReLU().is_empty());  // default-constructible: made
}

TEST_CASE("the plain shared_ptr route keeps working") {
  struct Plain : Module {
    std::shared_ptr<LinearImpl> fc;
    Plain() {
      fc = register_module("fc", std::make_shared<LinearImpl>(2, 3));
    }
    Tensor forward(const Tensor& x) {
      return fc->forward(x);
    }
  };
  auto p = std::make_shared<Plain>();
  CHECK(p->forward(ones({1, 2})).shape() == Shape{1, 3});
  CHECK(p->name() == "Plain");
  Sequential seq(p, Tanh());  // a plain module in a container
  CHECK(seq(ones({1, 2})).shape() == Shape{1, 3});
  CHECK(seq->at<Plain>(0) == p);
}
}  // namespace voxgrad::nn
