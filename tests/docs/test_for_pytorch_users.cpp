// docs/for-pytorch-users.md: its code blocks, verbatim (ctest
// docs_snippets_in_sync checks that), compiled and run here. Edit the page
// and this file together.
#include <doctest/doctest.h>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>  // checkpoint metadata (voxgrad::save, load)
#include <voxgrad/voxgrad.hpp>
using namespace voxgrad;

namespace {

void names() {
  Tensor x = randn({2, 3, 4});
  Tensor y = x.permute({2, 0, 1}).contiguous().reshape({4, -1});
  Tensor m = x.amax({2}, /*keepdim=*/true);
  Tensor s = x.slice(2, 0, 4, 2);  // x[:, :, 0:4:2], a view
  Tensor z = F::relu(F::linear(y.transpose(0, 1), randn({5, 4})));
  double total = z.sum().item();
  (void)m, (void)s, (void)total;
}

struct ConditionalDecoderImpl : nn::Module {
  ConditionalDecoderImpl(int64_t latent, int64_t classes) {
    fc = register_module("fc", nn::Linear(latent + classes, 8 * 4 * 4 * 4));
    up = register_module(
        "up", nn::ConvTranspose3d(
                  nn::ConvTranspose3dOptions(8, 1, 4).stride(2).padding(1)));
    norm = register_module("norm", std::make_shared<nn::BatchNorm3dImpl>(8));
    gain = register_parameter("gain", ones({1}));
    calls = register_buffer("calls", zeros({1}));
  }
  Tensor forward(const Tensor& z, const Tensor& label) {
    if (is_training()) {
      NoGradGuard no_grad;
      calls.copy_(calls + 1.0);  // a buffer: saved, never trained
    }
    Tensor h = fc(cat({z, label}, 1)).reshape({-1, 8, 4, 4, 4});
    return sigmoid(up(relu(norm->forward(h)))) * gain;
  }
  nn::Linear fc;  // a handle: fc(x), fc->weight()
  nn::ConvTranspose3d up;
  std::shared_ptr<nn::BatchNorm3dImpl> norm;  // the plain route
  Tensor gain, calls;
};
VOXGRAD_MODULE(ConditionalDecoder);

void use_the_module() {
  ConditionalDecoder dec(16, 10);
  Tensor y = dec(randn({2, 16}), zeros({2, 10}));  // (2, 1, 8, 8, 8)
  for (const auto& [name, p] : dec->named_parameters()) {
    std::cout << name << " " << shape_str(p.shape()) << "\n";
  }
  std::cout << "buffers: " << dec->named_buffers().size() << ", y "
            << shape_str(y.shape()) << "\n";
}

void ownership() {
  Tensor a = ones({2, 3});
  Tensor b = a;                 // the same tensor
  Tensor v = a.slice(1, 0, 2);  // a view of the first two columns
  v.fill_(5);                   // a is written too
  Tensor c = a.clone();         // its own storage
  c.zero_();                    // a unchanged
  std::cout << b.sum().item() << " " << v.shares_storage_with(a) << "\n";

  Tensor w = randn({3}).requires_grad_();
  Tensor x = randn({3});
  Tensor loss = (w * x).sum();  // mul saves x for dloss/dw
  x.fill_(0);                   // version of x: 1 -> the backward refuses
  bool refused = false;
  try {
    loss.backward();
  } catch (const Error& e) {
    refused = std::string(e.what()).find("in-place") != std::string::npos;
  }
  std::cout << "refused: " << refused << "\n";
}

void threads_and_determinism() {
  manual_seed(7);
  Tensor x = rand({1, 2, 8, 8, 8});
  Tensor w = randn({4, 2, 3, 3, 3});
  const int before = num_threads();
  set_num_threads(1);
  Tensor one = F::conv3d(x, w, {}, 1, 1);
  set_num_threads(before);
  Tensor all = F::conv3d(x, w, {}, 1, 1);
  Generator gen(42);
  Tensor noise = randn({4}, kFloat32, &gen);  // its own stream
  std::cout << "max |difference|: " << abs(one - all).max().item() << " "
            << noise.numel() << "\n";
}

void checkpoints(const std::string& path) {
  nn::Sequential model(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 1));
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  voxgrad::save(path, *model, &opt, {{"epoch", 3}});

  nn::Sequential again(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 1));
  optim::Adam opt2(again->parameters(), optim::AdamOptions(1e-3));
  auto meta = voxgrad::load(path, *again, &opt2);
  std::cout << "epoch " << meta["epoch"].get<int>() << "\n";
}

// What a snippet prints to std::cout.
template <class F>
std::string output_of(F&& f) {
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  try {
    f();
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  return out.str();
}

}  // namespace

TEST_CASE("for-pytorch-users: the names of the mapping table compile and run") {
  CHECK_NOTHROW(names());
}

TEST_CASE("for-pytorch-users: a module with two inputs, children and buffers") {
  const std::string out = output_of(use_the_module);
  CHECK(out.find("fc.weight [512, 26]") != std::string::npos);
  CHECK(out.find("up.weight [8, 1, 4, 4, 4]") != std::string::npos);
  CHECK(out.find("norm.weight [8]") != std::string::npos);
  CHECK(out.find("gain [1]") != std::string::npos);
  // calls + the BatchNorm's running_mean, running_var, num_batches_tracked.
  CHECK(out.find("buffers: 4, y [2, 1, 8, 8, 8]") != std::string::npos);
}

TEST_CASE("for-pytorch-users: handles, views and the version counter") {
  // a = ones(2, 3) with its first two columns set to 5 through the view.
  CHECK(output_of(ownership) == "22 1\nrefused: 1\n");
}

TEST_CASE("for-pytorch-users: one thread and all threads agree bit for bit") {
  CHECK(output_of(threads_and_determinism) == "max |difference|: 0 4\n");
}

TEST_CASE("for-pytorch-users: a checkpoint round trip with metadata") {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("voxgrad_for_pytorch_users_" + std::to_string(::getpid()) + ".cbor");
  CHECK(output_of([&] { checkpoints(path.string()); }) == "epoch 3\n");
  std::filesystem::remove(path);
}
