// nn::Dropout and nn::Dropout3d: rate, scale, per-channel masks, seeding,
// gradients, eval identity, errors. PyTorch's semantics are also checked in
// test_nn_golden.cpp.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("Dropout: drops about p, scales the rest by 1/(1-p), seeded") {
  auto gen = std::make_shared<Generator>(51);
  Dropout drop(DropoutOptions(0.3).generator(gen));
  const Tensor x = ones({100, 1000});
  const Tensor y = drop(x);
  const double dropped = eq(y, 0.0).mean().item();
  CHECK(dropped == doctest::Approx(0.3).epsilon(0.02));
  CHECK(amax(y).item() == doctest::Approx(1 / 0.7));
  CHECK(eq(y, 0.0).sum().item() + eq(y, amax(y).item()).sum().item() == 1e5);
  // Same seed, same mask; the generator advances between calls.
  Dropout again(DropoutOptions(0.3).generator(std::make_shared<Generator>(51)));
  CHECK(test::bit_equal(again(x), y));
  CHECK_FALSE(test::bit_equal(drop(x), y));
  drop->eval();
  CHECK(test::bit_equal(drop(x), x));
  CHECK(test::bit_equal(Dropout(DropoutOptions(0.0))(x), x));
  CHECK(amax(abs(Dropout(DropoutOptions(1.0))(x))).item() == 0);
}

TEST_CASE("Dropout: the gradient is the mask times the scale") {
  auto make = [](const TensorList& in) {
    Generator gen(52);  // one mask for every evaluation
    return functional::dropout(in[0], 0.4, true, &gen);
  };
  const Tensor x = randn({4, 5}, kFloat64).requires_grad_();
  CHECK(gradcheck(make, {x}));
  const Tensor y = make({x});
  y.sum().backward();
  CHECK(test::allclose(x.grad(), y.detach() / x.detach(), 1e-15, 1e-14));
}

TEST_CASE("Dropout3d: whole channels, batched and unbatched") {
  auto gen = std::make_shared<Generator>(53);
  Dropout3d drop(DropoutOptions(0.5).generator(gen));
  for (const Shape& s : {Shape{8, 16, 2, 3, 4}, Shape{16, 2, 3, 4}}) {
    const Tensor y = drop(ones(s));
    const Tensor per_channel = y.reshape({-1, 24});
    const Tensor lo = amax(-per_channel, {1}), hi = amax(per_channel, {1});
    CHECK(test::bit_equal(-lo, hi));  // constant within each channel
    const double kept = gt(hi, 0.0).mean().item();
    CHECK(kept > 0.2);
    CHECK(kept < 0.8);
    CHECK(amax(hi).item() == doctest::Approx(2.0));
  }
  drop->eval();
  CHECK(test::bit_equal(drop(ones({2, 2, 2, 2, 2})), ones({2, 2, 2, 2, 2})));
}

TEST_CASE("Dropout: printing and errors") {
  std::ostringstream os;
  os << Dropout(DropoutOptions(0.25)) << "|" << Dropout3d();
  CHECK(
      os.str() ==
      "Dropout(p=0.25)  # 0 parameters|Dropout3d(p=0.5)  # 0 parameters");
  CHECK_ERROR_CONTAINS(
      Dropout(DropoutOptions(1.5)), "Dropout", "[0, 1]", "1.5");
  CHECK_ERROR_CONTAINS(Dropout3d(DropoutOptions(-0.1)), "Dropout3d", "-0.1");
  CHECK_ERROR_CONTAINS(
      Dropout3d()(zeros({2, 3, 4})), "Dropout3d", "5-D", "[2, 3, 4]");
  CHECK_ERROR_CONTAINS(
      functional::dropout(zeros({2}), 2.0, true), "dropout", "2");
}

}  // namespace voxgrad::nn
