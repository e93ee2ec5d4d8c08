// A model trained in PyTorch runs in voxgrad: tests/golden/interop_tiny.*
// come from tools/gen_interop_golden.py, which saves a state_dict with
// torch.save and converts it with tools/torch_to_voxgrad.py (grouped conv
// weights to 6-D, biases to (1, C, 1, 1, 1)); the expected output is
// PyTorch's, computed in float64 from the float32 weights and input.

#include <fstream>

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

}  // namespace voxgrad
