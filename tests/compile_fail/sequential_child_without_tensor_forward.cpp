// Must not compile: a loss takes (input, target), so a Sequential cannot
// chain it. The error must be voxgrad's static_assert.
// expect: nn::Sequential chains one tensor through its children
#include <voxgrad/nn/container.hpp>
#include <voxgrad/nn/loss.hpp>

int main() {
  auto seq = voxgrad::nn::Sequential(voxgrad::nn::MSELoss());
}
