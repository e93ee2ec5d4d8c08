// Must not compile: no forward of NetImpl takes one tensor. The error must
// be voxgrad's static_assert, which says what is wrong.
// expect: no public forward() of this module accepts them
#include <voxgrad/nn/module.hpp>

struct NetImpl : voxgrad::nn::Module {
  voxgrad::Tensor forward(const voxgrad::Tensor& a, const voxgrad::Tensor& b) {
    return a;
  }
};
VOXGRAD_MODULE(Net);

int main() {
  Net net;
  net(voxgrad::Tensor());
}
