// Elementwise and reduction kernels against plain loops, over strided,
// broadcast and large (parallel) operands, and across thread counts.

#include <cmath>

#include "test_util.hpp"

namespace voxgrad {
namespace {

/// Value at multi-index `idx` of a tensor broadcast to `idx.size()` axes.
double at(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t off = t.offset();
  const size_t lead = idx.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    if (t.shape()[i] != 1)
      off += idx[lead + i] * t.strides()[i];
  return dispatch(t.dtype(), [&]<class T>() {
    return static_cast<double>(
        static_cast<const T*>(t.impl()->storage->data())[off]);
  });
}

template <class F>
void for_each_index(const Shape& shape, F f) {
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t n = 0; n < numel(shape); ++n) {
    f(idx);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d])
        break;
      idx[d] = 0;
    }
  }
}

}  // namespace

TEST_CASE("binary ops broadcast over strided operands like NumPy") {
  Generator g(1);
  const Tensor a =
      randn({4, 1, 6}, kFloat64, &g).transpose(0, 2);  // [6, 1, 4] strided
  const Tensor b = uniform({5, 4}, 0.5, 2.0, kFloat64, &g);
  const Shape s{6, 5, 4};
  struct Case {
    const char* name;
    Tensor got;
    double (*ref)(double, double);
  };
  const Case cases[] = {
      {"add", a + b, [](double x, double y) { return x + y; }},
      {"sub", a - b, [](double x, double y) { return x - y; }},
      {"mul", a * b, [](double x, double y) { return x * y; }},
      {"div", a / b, [](double x, double y) { return x / y; }},
      {"pow", pow(b, a), [](double x, double y) { return std::pow(y, x); }},
      {"maximum", maximum(a, b),
       [](double x, double y) { return std::max(x, y); }},
      {"gt", gt(a, b), [](double x, double y) { return x > y ? 1.0 : 0.0; }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    REQUIRE(c.got.shape() == s);
    double worst = 0;
    for_each_index(s, [&](const std::vector<int64_t>& i) {
      const double want = c.ref(at(a, i), at(b, i));
      worst =
          std::max(worst, std::abs(at(c.got, i) - want) / (1 + std::abs(want)));
    });
    CHECK(worst < 1e-12);
  }
  CHECK_ERROR_CONTAINS(
      a + ones({3}, kFloat64), "add", "[6, 1, 4]", "[3]", "broadcast");
  CHECK_ERROR_CONTAINS(a + ones({4}), "add", "float64", "float32");
}

TEST_CASE("unary ops match the C library on edge values") {
  const std::vector<double> v{-30.0, -2.5, -1e-3, 0.0, 1e-3, 0.7, 3.0, 30.0};
  const Tensor x = tensor(v, {8}, kFloat64);
  auto check = [&](const Tensor& got, double (*f)(double)) {
    const auto g = got.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) {
      CAPTURE(v[i]);
      CHECK(g[i] == doctest::Approx(f(v[i])).epsilon(1e-13));
    }
  };
  check(exp(x), [](double t) { return std::exp(t); });
  check(tanh(x), [](double t) { return std::tanh(t); });
  check(sigmoid(x), [](double t) { return 1 / (1 + std::exp(-t)); });
  check(softplus(x), [](double t) {
    return t > 20 ? t : std::log1p(std::exp(t));
  });
  check(silu(x), [](double t) { return t / (1 + std::exp(-t)); });
  check(relu(x), [](double t) { return t > 0 ? t : 0.0; });
  check(abs(x), [](double t) { return std::abs(t); });
  check(clamp(x, -1, 1), [](double t) { return std::clamp(t, -1.0, 1.0); });
  check(pow(x, 3.0), [](double t) { return t * t * t; });
  check(log_sigmoid(x), [](double t) { return -std::log1p(std::exp(-t)); });
  // NaN propagates through relu, clamp and max, as in PyTorch.
  const Tensor n = tensor({std::nan(""), 1.0});
  CHECK(std::isnan(relu(n).to_vector<float>()[0]));
  CHECK(std::isnan(clamp(n, 0, 1).to_vector<float>()[0]));
  CHECK(std::isnan(amax(n).item()));
  CHECK(
      isfinite(tensor({1.0, INFINITY, std::nan("")})).to_vector<float>() ==
      std::vector<float>{1, 0, 0});
}

TEST_CASE("sum, mean and amax over any axes match plain loops") {
  Generator g(3);
  const Tensor x =
      randn({3, 4, 5, 6}, kFloat64, &g).permute({2, 0, 3, 1});  // strided
  const std::vector<std::vector<int64_t>> axes_list{
      {0}, {1}, {3}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {-1, 0}};
  for (const auto& axes : axes_list) {
    CAPTURE(shape_str(axes));
    const Tensor s = sum(x, axes, true);
    const Tensor m = amax(x, axes, true);
    Tensor ref_s = zeros(s.shape(), kFloat64);
    Tensor ref_m = full(s.shape(), -INFINITY, kFloat64);
    double* ps = ref_s.mutable_data<double>();
    double* pm = ref_m.mutable_data<double>();
    const Strides os = ref_s.strides();
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
      int64_t o = 0;
      for (size_t d = 0; d < i.size(); ++d)
        if (s.shape()[d] != 1)
          o += i[d] * os[d];
      ps[o] += at(x, i);
      pm[o] = std::max(pm[o], at(x, i));
    });
    CHECK(test::max_abs_diff(s, ref_s) < 1e-12);
    CHECK(test::bit_equal(m, ref_m));
  }
  CHECK(sum(x, {0, 2}).shape() == Shape{3, 4});
  CHECK(mean(x).item() == doctest::Approx(sum(x).item() / 360.0));
  CHECK_ERROR_CONTAINS(sum(x, {4}), "sum", "axis 4", "4-d");
  CHECK_ERROR_CONTAINS(sum(x, {1, -3}), "sum", "twice");
  CHECK_ERROR_CONTAINS(amax(zeros({0, 3}), {0}), "amax", "zero elements");
  CHECK(
      sum(zeros({0, 3}), {0}).to_vector<float>() ==
      std::vector<float>{0, 0, 0});
}

TEST_CASE("amin and the methods amax / amin / max: PyTorch's names") {
  Generator g(5);
  const Tensor x = randn({3, 4, 5}, kFloat64, &g).permute({2, 0, 1});
  for (const std::vector<int64_t>& axes :
       std::vector<std::vector<int64_t>>{{}, {0}, {2}, {0, 2}, {-1, 1}}) {
    CAPTURE(shape_str(axes));
    const Tensor lo = amin(x, axes, true);
    CHECK(test::bit_equal(lo, -amax(-x, axes, true)));
    CHECK(test::bit_equal(x.amin(axes, true), lo));
    CHECK(test::bit_equal(x.amax(axes), amax(x, axes)));
    // Every element is >= the minimum of its slice, and some equals it.
    CHECK(amin(x - lo).item() == 0.0);
  }
  CHECK(x.amin().dim() == 0);
  CHECK(x.amax({1}, true).shape() == Shape{5, 1, 4});
  // Ties share the gradient equally, as for amax.
  const Tensor t = tensor({1.0, -2.0, -2.0, 3.0}, kFloat64).requires_grad_();
  t.amin().backward();
  CHECK(t.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5, 0});
  const Tensor y = randn({3, 4}, kFloat64, &g).requires_grad_();
  CHECK(gradcheck([](const TensorList& in) { return in[0].amin({1}); }, {y}));
  CHECK_ERROR_CONTAINS(amin(zeros({0, 3}), {0}), "amin", "zero elements");
  CHECK_ERROR_CONTAINS(x.amin({3}), "amin", "axis 3");
}

TEST_CASE("large float32 sums are accurate and identical for 1 and 2 threads") {
  Generator g(11);
  const Tensor x = uniform({4, 1 << 20}, 0.0, 1.0, kFloat32, &g);
  const auto v = x.to_vector<float>();
  double exact = 0;
  for (float f : v)
    exact += f;
  const Tensor one = test::with_threads(1, [&] { return x.sum(); });
  const Tensor two = test::with_threads(2, [&] { return x.sum(); });
  CHECK(test::bit_equal(one, two));
  CHECK(one.item() == doctest::Approx(exact).epsilon(1e-7));
  const Tensor rows1 = test::with_threads(1, [&] { return sum(x, {1}); });
  const Tensor rows2 = test::with_threads(2, [&] { return sum(x, {1}); });
  CHECK(test::bit_equal(rows1, rows2));
  const Tensor ew1 = test::with_threads(1, [&] { return tanh(x) * x + 1.0; });
  const Tensor ew2 = test::with_threads(2, [&] { return tanh(x) * x + 1.0; });
  CHECK(test::bit_equal(ew1, ew2));
}

TEST_CASE("matmul matches a triple loop, with broadcast batches and vectors") {
  Generator g(4);
  const Tensor a = randn({2, 1, 3, 7}, kFloat64, &g);
  const Tensor b = randn({4, 7, 5}, kFloat64, &g);
  const Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 4, 3, 5});
  double worst = 0;
  for_each_index(c.shape(), [&](const std::vector<int64_t>& i) {
    double want = 0;
    for (int64_t k = 0; k < 7; ++k)
      want += at(a, {i[0], 0, i[2], k}) * at(b, {i[1], k, i[3]});
    worst = std::max(worst, std::abs(at(c, i) - want));
  });
  CHECK(worst < 1e-12);
  CHECK(matmul(ones({3}), ones({3, 2})).shape() == Shape{2});
  CHECK(matmul(ones({3}), ones({3})).item() == 3.0);
  CHECK_ERROR_CONTAINS(
      matmul(ones({2, 3}), ones({4, 2})), "matmul", "inner", "3", "4");
}

TEST_CASE("cat, stack and pad place values where PyTorch does") {
  const Tensor a = arange(6).reshape({2, 3});
  const Tensor b = arange(4).reshape({2, 2}) + 10.0;
  CHECK(
      cat({a, b}, 1).to_vector<float>() ==
      std::vector<float>{0, 1, 2, 10, 11, 3, 4, 5, 12, 13});
  CHECK(stack({a, a}, 1).shape() == Shape{2, 2, 3});
  CHECK_ERROR_CONTAINS(cat({a, b}, 0), "cat", "tensor 1", "[2, 2]");
  CHECK_ERROR_CONTAINS(stack({a, b}), "stack", "tensor 1");
  const Tensor p =
      pad(a, {1, 0, 0, 1}, -1.0);  // last axis (1, 0), first (0, 1)
  CHECK(p.shape() == Shape{3, 4});
  CHECK(
      p.to_vector<float>() ==
      std::vector<float>{-1, 0, 1, 2, -1, 3, 4, 5, -1, -1, -1, -1});
  CHECK(pad(a, {-1, -1}).to_vector<float>() == std::vector<float>{1, 4});
  CHECK_ERROR_CONTAINS(pad(a, {1}), "pad", "even");
  CHECK_ERROR_CONTAINS(pad(a, {-2, -2}), "pad", "negative extent");
}

}  // namespace voxgrad
