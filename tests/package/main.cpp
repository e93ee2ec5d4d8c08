#include <iostream>

#include <voxgrad/voxgrad.hpp>

int main() {
  using namespace voxgrad;
  nn::Conv3d enc(nn::Conv3dOptions(1, 8, 3).stride(2).padding(1));
  nn::ConvTranspose3d dec(
      nn::ConvTranspose3dOptions(8, 1, 4).stride(2).padding(1));
  Tensor x = rand({2, 1, 16, 16, 16});
  Tensor loss = pow(dec(relu(enc(x))) - x, 2.0).mean();
  loss.backward();
  std::cout << "loss " << loss.item() << ", dL/dw "
            << shape_str(enc->weight().grad().shape()) << "\n";
}
