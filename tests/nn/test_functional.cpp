// nn::functional (alias F): one namespace holds every functional op, and the
// root spellings are the same functions.

#include "test_util.hpp"

namespace voxgrad {

TEST_CASE("F holds every functional op, root names are the same functions") {
  CHECK((&F::conv3d == &voxgrad::conv3d));
  CHECK((&F::conv_transpose3d == &voxgrad::conv_transpose3d));
  CHECK((&F::relu == &voxgrad::relu));
  CHECK((&F::leaky_relu == &voxgrad::leaky_relu));
  CHECK((&F::sigmoid == &voxgrad::sigmoid));
  CHECK((&F::tanh == &voxgrad::tanh));
  CHECK((&F::silu == &voxgrad::silu));
  CHECK((&F::softplus == &voxgrad::softplus));
  CHECK((&F::log_sigmoid == &voxgrad::log_sigmoid));
  // pad is overloaded (a constant value, or a PaddingMode): both.
  using PadValue =
      Tensor (*)(const Tensor&, const std::vector<int64_t>&, double);
  using PadMode =
      Tensor (*)(const Tensor&, const std::vector<int64_t>&, PaddingMode);
  CHECK((PadValue(&F::pad) == PadValue(&voxgrad::pad)));
  CHECK((PadMode(&F::pad) == PadMode(&voxgrad::pad)));
  CHECK((&F::linear == &nn::functional::linear));
  CHECK((&F::batch_norm == &nn::functional::batch_norm));
  CHECK((&F::group_norm == &nn::functional::group_norm));
  CHECK((&F::dropout == &nn::functional::dropout));
  CHECK((&F::dropout3d == &nn::functional::dropout3d));
  CHECK((&F::interpolate == &nn::functional::interpolate));
  CHECK((&F::mse_loss == &nn::functional::mse_loss));
  CHECK((&F::l1_loss == &nn::functional::l1_loss));
  CHECK((&F::binary_cross_entropy == &nn::functional::binary_cross_entropy));
  CHECK(
      (&F::binary_cross_entropy_with_logits ==
       &nn::functional::binary_cross_entropy_with_logits));
  CHECK(
      (&F::kl_divergence_gaussian == &nn::functional::kl_divergence_gaussian));
}

TEST_CASE("F::conv3d and the Conv3d module compute the same thing") {
  manual_seed(3);
  nn::Conv3d conv(nn::Conv3dOptions(2, 3, 3).stride(2).padding(1));
  const Tensor x = randn({1, 2, 5, 5, 5});
  CHECK(test::bit_equal(
      conv(x), F::conv3d(x, conv->weight(), conv->bias(), 2, 1)));
}

}  // namespace voxgrad
