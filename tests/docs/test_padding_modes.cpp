// docs/padding-modes.md's ```cpp block, verbatim (ctest
// docs_snippets_in_sync checks that), compiled and run here.
#include <doctest/doctest.h>

#include <voxgrad/voxgrad.hpp>

namespace {

using namespace voxgrad;

// The page's block, given the tensors it names.
std::pair<Tensor, Tensor> padding_modes_block(
    const Tensor& x, const Tensor& u, const Tensor& w, const Tensor& b) {
  // the block as docs/padding-modes.md shows it (not clang-formatted):
  // clang-format off
  nn::Conv3d conv(nn::Conv3dOptions(1, 8, 3).padding(1).padding_mode(nn::kCircular));
  nn::ConvTranspose3d up(nn::ConvTranspose3dOptions(8, 1, 4)
                             .stride(2).padding(1).padding_mode(nn::kReflect));
  Tensor y = conv(x);                                        // periodic volume
  Tensor z = conv_transpose3d(u, w, b, 2, 1, 0, 1, 1, {}, kReplicate);  // functional
  // clang-format on
  (void)up;
  return {y, z};
}

}  // namespace

TEST_CASE("padding-modes doc: the snippet's modules and functional call run") {
  manual_seed(0);
  // u (1, 8, 4, 4, 4) through a ConvTranspose3d weight (8, 2, 3, 3, 3),
  // stride 2, padding 1: (4 - 1) * 2 - 2 + 3 = 7 per side.
  const auto [y, z] = padding_modes_block(
      rand({1, 1, 6, 6, 6}), rand({1, 8, 4, 4, 4}), randn({8, 2, 3, 3, 3}),
      randn({1, 2, 1, 1, 1}));
  CHECK(y.shape() == Shape{1, 8, 6, 6, 6});
  CHECK(z.shape() == Shape{1, 2, 7, 7, 7});
}
