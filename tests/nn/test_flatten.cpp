// nn::Flatten and nn::Unflatten.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("Flatten keeps the batch by default, and Unflatten inverts it") {
  const Tensor x = randn({2, 3, 4, 5});
  const Tensor f = Flatten()(x);
  CHECK(f.shape() == Shape{2, 60});
  CHECK(
      Flatten(FlattenOptions().start_dim(0).end_dim(1))(x).shape() ==
      Shape{6, 4, 5});
  CHECK(Flatten(FlattenOptions().start_dim(-2))(x).shape() == Shape{2, 3, 20});
  const Tensor u = Unflatten(UnflattenOptions(1, {3, 4, 5}))(f);
  CHECK(test::bit_equal(u, x));
  CHECK(Unflatten(UnflattenOptions(-1, {-1, 5}))(f).shape() == Shape{2, 12, 5});
  const Tensor xd = randn({2, 6}, kFloat64).requires_grad_();
  CHECK(gradcheck(
      [](const TensorList& in) {
        // clone(): gradcheck would otherwise read a view of its own input.
        return Flatten()(Unflatten(UnflattenOptions(1, {2, 3}))(in[0])).clone();
      },
      {xd}));
}

TEST_CASE("Flatten / Unflatten: printing and errors") {
  std::ostringstream os;
  os << Flatten() << "|" << Unflatten(UnflattenOptions(1, {16, 4}));
  CHECK(
      os.str() ==
      "Flatten(start_dim=1, end_dim=-1)  # 0 parameters|Unflatten(dim=1, "
      "unflattened_size=[16, 4])  # 0 parameters");
  CHECK_ERROR_CONTAINS(Flatten()(zeros({5})), "Flatten", "start_dim 1", "[5]");
  CHECK_ERROR_CONTAINS(
      Flatten(FlattenOptions().start_dim(2).end_dim(1))(zeros({2, 3, 4})),
      "Flatten", "start first");
  CHECK_ERROR_CONTAINS(
      Unflatten(UnflattenOptions(1, {4, 4}))(zeros({2, 15})), "Unflatten",
      "[4, 4]", "15");
  CHECK_ERROR_CONTAINS(
      Unflatten(UnflattenOptions(1, {-1, -1})), "Unflatten", "one -1");
  CHECK_ERROR_CONTAINS(
      Unflatten(UnflattenOptions(3, {2}))(zeros({2, 2})), "Unflatten", "dim 3");
}

}  // namespace voxgrad::nn
