// The example of the seed specification (MegEngine's ConvTranspose3d page):
//   m = ConvTranspose3d(3, 64, 3, stride=2, padding=1)
//   x: (16, 3, 32, 32, 32)  ->  m(x): (16, 64, 63, 63, 63)
// D_out = (D - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding
// + 1
//       = 31 * 2 - 2 + 2 + 0 + 1 = 63.

#include <chrono>
#include <iostream>

#include <voxgrad/voxgrad.hpp>
#include "voxgrad/nn/conv.hpp"

int main() {
  using namespace voxgrad;
  manual_seed(0);
  nn::ConvTranspose3d m(
      nn::ConvTranspose3dOptions(3, 64, 3).stride(2).padding(1));
  const Tensor x = randn({16, 3, 32, 32, 32});
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor y = m(x);
  const auto ms = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  const Shape& s = y.shape();
  std::cout << "(" << s[0] << ", " << s[1] << ", " << s[2] << ", " << s[3]
            << ", " << s[4] << ")\n";
  std::cerr << "input " << shape_str(x.shape()) << ", weight "
            << shape_str(m->weight().shape()) << ", bias "
            << shape_str(m->bias().shape()) << "; forward took " << ms
            << " ms\n";
  return s == Shape{16, 64, 63, 63, 63} ? 0 : 1;
}
