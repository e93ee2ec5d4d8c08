// flip, roll and cumsum (voxgrad/autograd/ops/reorder.cpp, scan.cpp) against
// index formulas, and the issue 11 pointwise kernels and cumsum across
// thread counts. Gradchecks are in test_op_list.cpp, PyTorch parity in
// tests/nn/test_kit_golden.cpp.

#include "test_util.hpp"

namespace voxgrad {

TEST_CASE("flip reverses the named axes of any strided input") {
  const Tensor x = arange(24, kFloat64).reshape({2, 3, 4});
  const auto v = x.to_vector<double>();
  const auto f = flip(x, {0, -1}).to_vector<double>();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 4; ++c)
        CHECK(
            f[static_cast<size_t>((a * 3 + b) * 4 + c)] ==
            v[static_cast<size_t>(((1 - a) * 3 + b) * 4 + 3 - c)]);
  const Tensor t = x.transpose(0, 2);  // (4, 3, 2), strided
  CHECK(test::bit_equal(flip(t, {1}), flip(t.contiguous(), {1})));
  CHECK(test::bit_equal(flip(flip(x, {1, 2}), {2, 1}), x));
  CHECK(test::bit_equal(flip(x, {}), x));
  CHECK(flip(scalar_tensor(3.0), {0}).item() == 3.0);
  CHECK(flip(zeros({0, 3}), {0}).shape() == Shape{0, 3});
  CHECK_ERROR_CONTAINS(flip(x, {1, -2}), "flip", "twice");
  CHECK_ERROR_CONTAINS(flip(x, {3}), "flip", "axis 3");
}

TEST_CASE("roll wraps elements around, per axis or flattened") {
  const Tensor x = arange(24, kFloat64).reshape({2, 3, 4});
  const auto v = x.to_vector<double>();
  const auto r = roll(x, {1, -5}, {1, 2}).to_vector<double>();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 4; ++c) {
        const int64_t sb = ((b - 1) % 3 + 3) % 3, sc = ((c + 5) % 4 + 4) % 4;
        CHECK(
            r[static_cast<size_t>((a * 3 + b) * 4 + c)] ==
            v[static_cast<size_t>((a * 3 + sb) * 4 + sc)]);
      }
  const auto flat = roll(x, {5}).to_vector<double>();
  for (size_t i = 0; i < 24; ++i)
    CHECK(flat[(i + 5) % 24] == v[i]);
  CHECK(test::bit_equal(roll(x, {2, 3}, {0, 0}), roll(x, {5}, {0})));
  CHECK(test::bit_equal(roll(x, {-7}, {1}), roll(x, {2}, {1})));
  CHECK(test::bit_equal(roll(x, {0, 3}, {1, 1}), x));
  CHECK(test::bit_equal(
      roll(x.transpose(1, 2), {1}, {2}),
      roll(x.transpose(1, 2).contiguous(), {1}, {2})));
  CHECK(roll(scalar_tensor(2.0), {4}).item() == 2.0);
  CHECK(roll(zeros({3, 0}), {1}, {0}).shape() == Shape{3, 0});
  CHECK_ERROR_CONTAINS(roll(x, {1, 2}), "roll", "one value");
  CHECK_ERROR_CONTAINS(roll(x, {1}, {0, 1}), "roll", "same length");
  CHECK_ERROR_CONTAINS(roll(x, {1}, {5}), "roll", "axis 5");
}

TEST_CASE("cumsum: running sums along one axis, in double for float") {
  const Tensor x = arange(24, kFloat64).reshape({2, 3, 4}) * 0.5 - 3.0;
  const auto v = x.to_vector<double>();
  const auto c = cumsum(x, 1).to_vector<double>();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t k = 0; k < 4; ++k) {
      double s = 0;
      for (int64_t b = 0; b < 3; ++b) {
        s += v[static_cast<size_t>((a * 3 + b) * 4 + k)];
        CHECK(c[static_cast<size_t>((a * 3 + b) * 4 + k)] == s);
      }
    }
  CHECK(test::bit_equal(cumsum(x, -1), cumsum(x, 2)));
  CHECK(test::bit_equal(
      cumsum(x.transpose(0, 2), 0), cumsum(x.transpose(0, 2).contiguous(), 0)));
  // float32 accumulates in double: 2^24 + 1 + 1 survives.
  const Tensor big = tensor({16777216.0, 1.0, 1.0}, kFloat32);
  CHECK(cumsum(big, 0).to_vector<double>()[2] == 16777218.0);
  CHECK(cumsum(scalar_tensor(4.0), 0).item() == 4.0);
  CHECK_ERROR_CONTAINS(cumsum(x, 3), "cumsum", "axis 3");
}

TEST_CASE(
    "issue 11 pointwise kernels and cumsum: bit-identical for 1, 2, 3 "
    "threads") {
  Generator gen(9);
  const Tensor x = randn({3, 70001}, kFloat32, &gen) * 3.0;  // odd length
  const Tensor w = uniform({3}, 0.1, 0.3, kFloat32, &gen);
  auto run = [&] {
    return TensorList{
        sin(x),
        cos(x),
        erf(x),
        elu(x, 0.7),
        gelu(x),
        gelu(x, "tanh"),
        mish(x),
        softsign(x),
        hardtanh(x, -1, 2),
        prelu(x.transpose(0, 1), w),
        cumsum(x, 1),
        cumsum(x, 0),
        flip(x, {1}),
        roll(x, {7}, {1})};
  };
  const TensorList one = test::with_threads(1, run);
  for (int threads : {2, 3}) {
    const TensorList many = test::with_threads(threads, run);
    for (size_t i = 0; i < one.size(); ++i) {
      CAPTURE(i);
      CHECK(test::bit_equal(one[i], many[i]));
    }
  }
}

}  // namespace voxgrad
