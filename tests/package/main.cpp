#include <iostream>

#include <voxgrad/voxgrad.hpp>

using namespace voxgrad;

// A module: children held by handles, a forward with two inputs.
struct AutoencoderImpl : nn::Module {
  AutoencoderImpl() {
    enc = register_module(
        "enc", nn::Conv3d(nn::Conv3dOptions(1, 8, 3).stride(2).padding(1)));
    dec = register_module(
        "dec", nn::ConvTranspose3d(
                   nn::ConvTranspose3dOptions(8, 1, 4).stride(2).padding(1)));
  }
  Tensor forward(const Tensor& x, const Tensor& gain) {
    return dec(relu(enc(x))) * gain;
  }
  nn::Conv3d enc;
  nn::ConvTranspose3d dec;
};
VOXGRAD_MODULE(Autoencoder);

int main() {
  manual_seed(0);
  Autoencoder model;
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  const Tensor x = rand({2, 1, 16, 16, 16}), gain = ones({1});
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    Tensor loss = pow(model(x, gain) - x, 2.0).mean();
    loss.backward();
    opt.step();
    std::cout << "loss " << loss.item() << ", dL/dw "
              << shape_str(model->enc->weight().grad().shape()) << "\n";
  }
}
