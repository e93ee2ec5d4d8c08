// A model trained in PyTorch runs in voxgrad: tests/golden/interop_tiny.*
// come from tools/gen_interop_golden.py, which saves a state_dict with
// torch.save and converts it with tools/torch_to_voxgrad.py (grouped conv
// weights to 6-D, biases to (1, C, 1, 1, 1)); the expected output is
// PyTorch's, computed in float64 from the float32 weights and input.

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad {
namespace {

using json = nlohmann::json;

/// The same layers and names as TinyNet in tools/gen_interop_golden.py.
struct TinyNet : nn::Module {
  std::shared_ptr<nn::Conv3dImpl> enc, head;
  std::shared_ptr<nn::ConvTranspose3dImpl> up;
  TinyNet() {
    enc = register_module(
        "enc", std::make_shared<nn::Conv3dImpl>(
                   nn::Conv3dOptions(2, 4, 3).padding(1).groups(2)));
    up = register_module(
        "up", std::make_shared<nn::ConvTranspose3dImpl>(
                  nn::ConvTranspose3dOptions(4, 4, 2).stride(2).groups(2)));
    head = register_module(
        "head", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(4, 1, 1)));
  }
  Tensor forward(const Tensor& x) {
    return head->forward(tanh(up->forward(tanh(enc->forward(x)))));
  }
};

/// BnNet of tools/gen_interop_golden.py: a BatchNorm3d trained for three
/// batches in PyTorch, and a grouped ConvTranspose3d the converter found the
/// groups of by itself (no --groups).
struct BnNet : nn::Module {
  nn::Conv3d enc;
  nn::BatchNorm3d bn;
  nn::ConvTranspose3d up;
  BnNet() {
    enc = register_module(
        "enc", nn::Conv3d(nn::Conv3dOptions(2, 4, 3).padding(1)));
    bn = register_module("bn", nn::BatchNorm3d(4));
    up = register_module(
        "up", nn::ConvTranspose3d(
                  nn::ConvTranspose3dOptions(4, 6, 2).stride(2).groups(2)));
  }
  Tensor forward(const Tensor& x) {
    return up(relu(bn(enc(x))));
  }
};

/// A module whose only parameter is `weight`, of any shape: what a PyTorch
/// state_dict converted with the wrong --groups holds.
struct WeightOnly : nn::Module {
  explicit WeightOnly(const Shape& shape) {
    register_parameter("weight", zeros(shape));
  }
};

/// `enc` holding `weight` of `shape`, and `enc` a Conv3d: a file and a model.
struct FileNet : nn::Module {
  explicit FileNet(const Shape& shape) {
    register_module("enc", std::make_shared<WeightOnly>(shape));
  }
};
struct ConvNet : nn::Module {
  explicit ConvNet(const nn::Conv3dOptions& options) {
    register_module("enc", nn::Conv3d(options));
  }
};

Tensor from_json(const json& t, Dtype dt) {
  return tensor(
      t["data"].get<std::vector<double>>(), t["shape"].get<Shape>(), dt);
}

}  // namespace

TEST_CASE("a PyTorch-trained model converted by torch_to_voxgrad.py matches") {
  const std::string dir = VOXGRAD_TEST_DATA_DIR "/golden/";
  std::ifstream f(dir + "interop_tiny_io.json");
  REQUIRE(f.good());
  const json io = json::parse(f);
  TinyNet net;
  const json meta = load(dir + "interop_tiny.ckpt.json", net);
  CHECK(meta["converted_from"] == "tiny.pt");
  CHECK(net.enc->weight().shape() == Shape{2, 2, 1, 3, 3, 3});
  CHECK(net.up->weight().shape() == Shape{2, 2, 2, 2, 2, 2});
  CHECK(net.head->bias().shape() == Shape{1, 1, 1, 1, 1});

  const Tensor want = from_json(io["y"], kFloat64);
  // float32, as loaded: float rounding of a few hundred terms.
  const Tensor y32 = net.forward(from_json(io["x"], kFloat32));
  CHECK(test::allclose(y32, want, 1e-6, 1e-5));
  MESSAGE("float32 max |err| " << test::max_abs_diff(y32, want));
  // float64: the same weights widened; only summation order differs.
  net.to(kFloat64);
  const Tensor y64 = net.forward(from_json(io["x"], kFloat64));
  CHECK(test::allclose(y64, want, 1e-14, 1e-12));
  MESSAGE("float64 max |err| " << test::max_abs_diff(y64, want));
}

TEST_CASE("a PyTorch BatchNorm3d model converts with its num_batches_tracked") {
  const std::string dir = VOXGRAD_TEST_DATA_DIR "/golden/";
  std::ifstream f(dir + "interop_bn_io.json");
  REQUIRE(f.good());
  const json io = json::parse(f);
  BnNet net;
  // Strict: every parameter and buffer, num_batches_tracked included.
  const json meta = load(dir + "interop_bn.ckpt.json", net);
  CHECK(meta["converted_from"] == "bn.pt");
  CHECK(net.bn->num_batches_tracked().item() == 3.0);
  CHECK(net.up->weight().shape() == Shape{2, 2, 3, 2, 2, 2});
  net.eval();  // PyTorch's output is the eval mode's: the running stats
  const Tensor want = from_json(io["y"], kFloat64);
  const Tensor y32 = net.forward(from_json(io["x"], kFloat32));
  CHECK(test::allclose(y32, want, 1e-6, 1e-5));
  net.to(kFloat64);
  const Tensor y64 = net.forward(from_json(io["x"], kFloat64));
  CHECK(test::allclose(y64, want, 1e-13, 1e-12));
  MESSAGE("float64 max |err| " << test::max_abs_diff(y64, want));
}

TEST_CASE(
    "loading a grouped conv's weight in the wrong layout names --groups") {
  const auto path =
      std::filesystem::temp_directory_path() /
      ("voxgrad_groups_hint_" + std::to_string(::getpid()) + ".json");
  const auto message_of_load = [&](nn::Module& into) {
    try {
      load(path.string(), into, nullptr, LoadOptions{.strict = false});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  {
    // PyTorch's 5-D weight of Conv3d(2, 4, 3, groups=2), converted without
    // --groups, into the grouped conv (weight (2, 2, 1, 3, 3, 3)).
    FileNet file(Shape{4, 1, 3, 3, 3});
    save(path.string(), file);
    ConvNet model(nn::Conv3dOptions(2, 4, 3).groups(2));
    const std::string msg = message_of_load(model);
    CHECK(msg.find("torch_to_voxgrad.py --groups enc=2") != std::string::npos);
    MESSAGE(msg);
  }
  {
    // Converted with --groups enc=2 for a conv that is not grouped.
    FileNet file(Shape{2, 2, 2, 3, 3, 3});
    save(path.string(), file);
    ConvNet model(nn::Conv3dOptions(2, 4, 3));
    const std::string msg = message_of_load(model);
    CHECK(msg.find("without --groups enc=") != std::string::npos);
  }
  {
    // Another mismatch: no word of groups.
    FileNet file(Shape{4, 2, 2, 2, 2});
    save(path.string(), file);
    ConvNet model(nn::Conv3dOptions(2, 4, 3));
    const std::string msg = message_of_load(model);
    CHECK(msg.find("does not match") != std::string::npos);
    CHECK(msg.find("--groups") == std::string::npos);
  }
  std::filesystem::remove(path);
}

}  // namespace voxgrad
