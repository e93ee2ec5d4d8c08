// The ```cpp usage examples of the public headers' comments, verbatim
// (ctest docs_snippets_in_sync checks that), compiled and run here: one
// function per header, given the names the example uses. Edit a header's
// example and its copy here together.
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/optim/state_dict.hpp"

namespace voxgrad::test {
namespace {

// ---- voxgrad/core/tensor.hpp, voxgrad/core/grad_mode.hpp
Tensor tensor_hpp(const Tensor& w, double lr) {
  Tensor loss = (w * w).sum();
  loss.backward();
  Tensor labels = randint(0, 5, {8, 16, 16, 16});
  // grad_mode.hpp's one-line block, as the header shows it:
  // clang-format off
  { voxgrad::NoGradGuard g; w.copy_(w - lr * w.grad()); }
  // clang-format on
  return labels;
}

// ---- voxgrad/autograd/checkpoint.hpp, gradcheck.hpp, hooks.hpp, node.hpp
Tensor checkpoint_example(nn::Linear& block, const Tensor& x) {
  Tensor h = autograd::checkpoint(
      [&](const TensorList& in) { return block(in[0]); }, {x});
  return h;
}

// gradcheck throws (raise_exception) on a mismatch.
void gradcheck_example() {
  auto x = randn({3, 4}, kFloat64).requires_grad_();
  gradcheck([](const TensorList& in) { return tanh(in[0]); }, {x});
}

void hooks_example(const Tensor& w) {
  auto h = autograd::register_post_accumulate_grad_hook(
      w, [](const Tensor& leaf) { std::cout << leaf.grad() << "\n"; });
  (w * 2.0).sum().backward();
}

Tensor grad_example(const Tensor& x, const Tensor& y) {
  Tensor gx = autograd::grad({y}, {x}, {}, true)[0];  // differentiable
  return gx;
}

// ---- voxgrad/nn/checkpoint.hpp
nlohmann::json checkpoint_hpp(nn::Module& model, optim::Optimizer& opt) {
  voxgrad::save("run/ckpt.json", model, &opt, {{"epoch", 3}});
  nlohmann::json meta = voxgrad::load("run/ckpt.json", model, &opt);
  return meta;
}

nlohmann::json save_and_load(nn::Module& model, optim::Optimizer& opt) {
  voxgrad::save("ckpt.cbor", model, &opt, {{"step", 1000}});
  voxgrad::save("ckpt.json", model, &opt);  // no metadata: {}
  auto meta = voxgrad::load("ckpt.json", model, &opt);
  return meta;
}

// CheckpointMetadata's example: what it prints.
void checkpoint_metadata_example(nn::Module& model) {
  auto meta = voxgrad::load("ckpt.json", model);
  if (meta.contains("epoch"))
    std::cout << "epoch " << meta["epoch"].get<int>() << "\n";
}

// ---- voxgrad/nn/module.hpp (NOTE [ Writing a module ]), in a function
// body: its classes are local, its last two lines are statements.
Shape module_hpp() {
  struct GeneratorImpl : nn::Module {
    GeneratorImpl(int64_t latent, int64_t classes) {
      fc = register_module("fc", nn::Linear(latent + classes, 64));
      up = register_module(
          "up", nn::ConvTranspose3d(
                    nn::ConvTranspose3dOptions(1, 1, 4).stride(2).padding(1)));
      scale = register_buffer("scale", ones({1}));
    }
    Tensor forward(const Tensor& z, const Tensor& label) {
      const Tensor h = relu(fc(cat({z, label}, 1)));
      return up(h.reshape({-1, 1, 4, 4, 4})) * scale;
    }
    nn::Linear fc;  // empty until assigned
    nn::ConvTranspose3d up;
    Tensor scale;
  };
  VOXGRAD_MODULE(Generator);

  Generator G(16, 10);
  Tensor y = G(randn({2, 16}), zeros({2, 10}));  // (2, 1, 8, 8, 8)
  return y.shape();
}

// ---- voxgrad/nn/container.hpp
std::pair<Shape, std::string> sequential_example() {
  nn::Sequential seq(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  Tensor y = seq(randn({5, 4}));
  nn::Linear last = seq->at<nn::Linear>(2);
  return {y.shape(), shape_str(last->weight().shape())};
}

Shape module_list_example() {
  nn::ModuleList blocks;
  blocks->push_back(nn::Linear(8, 8));
  blocks->push_back(nn::Tanh());
  Tensor h = randn({2, 8});
  for (const auto& block : *blocks)
    h = block(h);
  return h.shape();
}

// ---- voxgrad/nn/functional.hpp
Shape functional_hpp() {
  Tensor x = randn({2, 1, 8, 8, 8});
  Tensor w = randn({4, 1, 3, 3, 3});
  Tensor h = F::relu(F::conv3d(x, w, {}, /*stride=*/1, /*padding=*/1));
  Tensor up = F::interpolate(h, nn::UpsampleOptions().scale_factor(2.0));
  Tensor loss = F::mse_loss(up, zeros_like(up));
  return loss.shape();
}

// ---- voxgrad/nn/utils/clip_grad.hpp
void clip_grad_hpp(const Tensor& loss, nn::Linear& model, optim::SGD& opt) {
  loss.backward();
  nn::utils::clip_grad_norm_(model->parameters(), 1.0);
  opt.step();
}

// ---- voxgrad/optim/optimizer.hpp
Tensor loss(nn::Module& model) {
  Tensor s = zeros({});
  for (const Tensor& p : model.parameters())
    s = s + (p * p).sum();
  return s;
}

double optimizer_hpp(nn::Module& model, int steps) {
  optim::Adam opt(model.parameters(), optim::AdamOptions(1e-3));
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    loss(model).backward();
    opt.step();
  }
  return loss(model).item();
}

// The lr of each group.
std::vector<double> param_groups_example(
    const TensorList& enc, const TensorList& dec) {
  optim::SGD opt(
      {optim::ParamGroup(enc), optim::ParamGroup(dec, optim::SGDOptions(0.01))},
      optim::SGDOptions(0.1));
  std::vector<double> lrs;
  for (const optim::ParamGroup& g : opt.param_groups())
    lrs.push_back(g.options().get_lr());
  return lrs;
}

// ---- voxgrad/optim/lr_scheduler.hpp
std::vector<double> lr_scheduler_hpp(optim::Optimizer& opt) {
  std::vector<double> lrs;
  auto train = [&] { lrs.push_back(opt.lr()); };
  optim::LinearLR warmup(opt, 0.1, 1.0, 5);  // or shared_ptrs, for chaining:
  auto w = std::make_shared<optim::LinearLR>(opt, 0.1, 1.0, 5);
  auto c = std::make_shared<optim::CosineAnnealingLR>(opt, 95);
  optim::SequentialLR sched(opt, {w, c}, {5});
  for (int epoch = 0; epoch < 100; ++epoch) {
    train();
    opt.step();
    sched.step();
  }
  return lrs;
}

// ---- voxgrad/optim/state_dict.hpp
double state_dict_hpp(const optim::Optimizer& opt, const nn::Module& model) {
  optim::OptimizerStateDict sd = opt.state_dict(model.named_parameters());
  double lr = sd.param_groups[0].options["lr"];
  return lr;
}

}  // namespace

TEST_CASE("header examples: tensor.hpp's backward, randint and NoGradGuard") {
  manual_seed(0);
  const Tensor w = ones({3}).requires_grad_();
  const Tensor labels = tensor_hpp(w, 0.25);
  CHECK(labels.dtype() == kInt64);
  CHECK(labels.shape() == Shape{8, 16, 16, 16});
  // d/dw sum(w^2) = 2w = 2: w = 1 - 0.25 * 2.
  CHECK(w.to_vector<double>() == std::vector<double>{0.5, 0.5, 0.5});
}

TEST_CASE("header examples: autograd's checkpoint, gradcheck, hooks, grad") {
  manual_seed(0);
  nn::Linear block(4, 2);
  const Tensor x = randn({3, 4}).requires_grad_();
  CHECK(bit_equal(checkpoint_example(block, x), block(x)));
  CHECK_NOTHROW(gradcheck_example());
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  hooks_example(ones({2}).requires_grad_());
  std::cout.rdbuf(old);
  CHECK(out.str().find("2") != std::string::npos);  // the grad printed
  const Tensor a = tensor({3.0}, kFloat64).requires_grad_();
  const Tensor gx = grad_example(a, a * a * a);  // 3 a^2, still a graph
  CHECK(gx.item() == 27.0);
  CHECK(autograd::grad({gx}, {a})[0].item() == 18.0);  // 6 a
}

TEST_CASE("header examples: module.hpp's two-input module with a buffer") {
  CHECK(module_hpp() == Shape{2, 1, 8, 8, 8});
}

TEST_CASE("header examples: container.hpp's Sequential and ModuleList") {
  const auto [shape, last] = sequential_example();
  CHECK(shape == Shape{5, 2});
  CHECK(last == "[2, 8]");
  CHECK(module_list_example() == Shape{2, 8});
}

TEST_CASE("header examples: functional.hpp's conv, interpolate and loss") {
  CHECK(functional_hpp() == Shape{});
}

TEST_CASE("header examples: clip_grad.hpp clips before the step") {
  nn::Linear model(2, 1);
  {
    NoGradGuard no_grad;
    model->weight().fill_(0);
  }
  optim::SGD opt(model->parameters(), optim::SGDOptions(1.0));
  // d/dw of 100 * sum(w . x + b) is 100 * x: norm far above 1.
  const Tensor loss = (model(ones({1, 2})) * 100.0).sum();
  clip_grad_hpp(loss, model, opt);
  // The gradients the step used were clipped to a total norm of 1.
  double norm2 = 0;
  for (const Tensor& p : model->parameters())
    norm2 += pow(p.grad(), 2.0).sum().item();
  CHECK(norm2 <= 1.0 + 1e-6);
}

TEST_CASE("header examples: checkpoint.hpp saves and loads with metadata") {
  manual_seed(0);
  nn::Linear model(3, 2);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  TempDir dir("header_examples");
  std::filesystem::create_directories(dir.path / "run");
  CurrentDir cd(dir.path);
  CHECK(checkpoint_hpp(*model, opt) == nlohmann::json{{"epoch", 3}});
  CHECK(save_and_load(*model, opt) == nlohmann::json::object());
  CHECK(std::filesystem::exists("ckpt.cbor"));
  // CheckpointMetadata's example prints the epoch when there is one.
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  checkpoint_metadata_example(*model);  // ckpt.json: no metadata
  voxgrad::save("ckpt.json", *model, nullptr, {{"epoch", 7}});
  checkpoint_metadata_example(*model);
  std::cout.rdbuf(old);
  CHECK(out.str() == "epoch 7\n");
}

TEST_CASE("header examples: optimizer.hpp's loop and parameter groups") {
  manual_seed(0);
  nn::Linear model(3, 2);
  const double before = loss(*model).item();
  CHECK(optimizer_hpp(*model, 5) < before);
  nn::Linear enc(2, 2), dec(2, 2);
  CHECK(
      param_groups_example(enc->parameters(), dec->parameters()) ==
      std::vector<double>{0.1, 0.01});
}

TEST_CASE("header examples: lr_scheduler.hpp's warm-up then cosine") {
  nn::Linear model(2, 2);
  optim::SGD opt(model->parameters(), optim::SGDOptions(1.0));
  const std::vector<double> lrs = lr_scheduler_hpp(opt);
  REQUIRE(lrs.size() == 100);
  CHECK(lrs[0] == doctest::Approx(0.1));  // LinearLR's start factor
  CHECK(lrs[5] == doctest::Approx(1.0));  // the cosine from its base lr
  CHECK(lrs[99] < 0.01);
}

TEST_CASE("header examples: state_dict.hpp reads a group's lr") {
  nn::Linear model(2, 2);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.25));
  CHECK(state_dict_hpp(opt, *model) == 0.25);
}

}  // namespace voxgrad::test
