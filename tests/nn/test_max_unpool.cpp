// Max pooling's indices (F::max_pool3d_with_indices, forward_with_indices)
// and max unpooling (voxgrad/nn/max_unpool, NOTE [ Max unpooling ]): the
// indices against PyTorch's scan rule over random geometries full of ties
// (pool_reference.hpp, shared with test_pooling.cpp), unpooling against a
// loop of PyTorch's CPU kernel (repeats: the last wins), its gradient
// against the adjoint taken column by column, output_size's rules,
// bit-identical results for any thread count, errors. PyTorch parity is in
// test_kit_golden.cpp.

#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>

#include "pool_reference.hpp"
#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

using namespace pool_reference;

/// PyTorch 1.13's cpu_max_unpool: zeros, then each (n, c) plane written in
/// input order (a repeated index keeps the last value).
Tensor naive_unpool(
    const Tensor& x, const Tensor& indices, const std::array<int64_t, 3>& o) {
  const int64_t planes = x.size(0) * x.size(1);
  const int64_t small = x.size(2) * x.size(3) * x.size(4);
  const int64_t large = o[0] * o[1] * o[2];
  const auto xv = x.to_vector<double>();
  const auto iv = indices.to_vector<int64_t>();
  std::vector<double> y(static_cast<size_t>(planes * large), 0.0);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t j = 0; j < small; ++j)
      y[static_cast<size_t>(
          p * large + iv[static_cast<size_t>(p * small + j)])] =
          xv[static_cast<size_t>(p * small + j)];
  return tensor(y, {x.size(0), x.size(1), o[0], o[1], o[2]}, kFloat64);
}

/// Equal values, NaN matching NaN. Not bit equality: without indices the
/// max-pool kernel may return 0.0 where the indexed path (and PyTorch)
/// returns -0.0, on a tie between the two zeros.
bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    return false;
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i)
    if (!(va[i] == vb[i] || (std::isnan(va[i]) && std::isnan(vb[i]))))
      return false;
  return true;
}

/// Random indices into planes of `large` elements, with repeats.
Tensor random_indices(const Shape& s, int64_t large, Generator& gen) {
  NoGradGuard no_grad;
  return randint(0, large, s, &gen);
}

}  // namespace

TEST_CASE("max_pool3d_with_indices: PyTorch's index over 200 geometries") {
  Generator gen(31);
  for (int t = 0; t < 200; ++t) {
    std::array<int64_t, 3> k{}, s{}, p{}, d{}, in{};
    for (size_t a = 0; a < 3; ++a) {
      k[a] = pick(gen, 1, 4);
      s[a] = pick(gen, 1, 3);
      p[a] = pick(gen, 0, k[a] / 2);
      d[a] = pick(gen, 1, 3);
      const int64_t span = d[a] * (k[a] - 1) + 1;
      in[a] = pick(gen, span, span + 5);
    }
    const Int3 K(k[0], k[1], k[2]), S(s[0], s[1], s[2]), P(p[0], p[1], p[2]),
        D(d[0], d[1], d[2]);
    const bool ceil = pick(gen, 0, 1) == 1;
    CAPTURE(t);
    const auto o =
        MaxPool3dOptions(K).stride(S).padding(P).dilation(D).ceil_mode(ceil);
    const Tensor x =
        quantized({2, 1, in[0], in[1], in[2]}, 2, gen, t % 5 == 0 ? 0.05 : 0.0);
    Tensor y, i;
    std::tie(y, i) = functional::max_pool3d_with_indices(x, o);
    CHECK(i.dtype() == kInt64);
    CHECK(!i.requires_grad());
    REQUIRE(i.shape() == y.shape());
    CHECK(same_values(y, functional::max_pool3d(x, o)));
    const std::array<int64_t, 3> out{y.size(2), y.size(3), y.size(4)};
    CHECK(
        i.to_vector<int64_t>() ==
        max_windows(x, out, K, S, P, D, false).indices);
  }
}

TEST_CASE("adaptive_max_pool3d_with_indices: PyTorch's index, ties, NaN") {
  Generator gen(32);
  for (int t = 0; t < 100; ++t) {
    std::array<int64_t, 3> in{}, out{};
    for (size_t a = 0; a < 3; ++a) {
      in[a] = pick(gen, 1, 8);
      out[a] = pick(gen, 1, 8);
    }
    CAPTURE(t);
    const Tensor x =
        quantized({1, 2, in[0], in[1], in[2]}, 1, gen, t % 4 == 0 ? 0.1 : 0.0);
    const AdaptiveMaxPool3dOptions o(out[0], out[1], out[2]);
    Tensor y, i;
    std::tie(y, i) = functional::adaptive_max_pool3d_with_indices(x, o);
    CHECK(same_values(y, functional::adaptive_max_pool3d(x, o)));
    CHECK(
        i.to_vector<int64_t>() ==
        max_windows(x, out, 1, 1, 0, 1, true).indices);
  }
}

TEST_CASE("forward_with_indices: modules, unbatched, gradient, copies") {
  Generator gen(33);
  const Tensor x = quantized({2, 3, 5, 6, 7}, 2, gen);
  MaxPool3d pool(MaxPool3dOptions(3).stride(2).padding(1));
  Tensor y, i, yu, iu;
  std::tie(y, i) = pool->forward_with_indices(x);
  CHECK(same_values(y, pool(x)));
  CHECK(y.shape() == Shape{2, 3, 3, 3, 4});
  std::tie(yu, iu) = pool->forward_with_indices(x.select(0, 1));
  CHECK(iu.shape() == Shape{3, 3, 3, 4});
  CHECK(test::bit_equal(yu, y.select(0, 1)));
  CHECK(test::bit_equal(iu, i.select(0, 1).contiguous()));
  AdaptiveMaxPool3d apool(AdaptiveMaxPool3dOptions(2, std::nullopt, 3));
  std::tie(y, i) = apool->forward_with_indices(x);
  CHECK(i.shape() == Shape{2, 3, 2, 6, 3});
  CHECK(same_values(y, apool(x)));
  std::tie(yu, iu) = apool->forward_with_indices(x.select(0, 0));
  CHECK(test::bit_equal(iu, i.select(0, 0).contiguous()));
  // The values are differentiable; the gradient goes to the indices, and
  // writing into the returned indices cannot change it (they are a copy).
  const Tensor xg = x.detach().requires_grad_();
  std::tie(y, i) = pool->forward_with_indices(xg);
  const Tensor want = autograd::grad({pool(xg)}, {xg}, {ones_like(y)})[0];
  i.fill_(0);
  CHECK(test::bit_equal(autograd::grad({y}, {xg}, {ones_like(y)})[0], want));
  // Empty batch.
  std::tie(y, i) = pool->forward_with_indices(zeros({0, 3, 5, 6, 7}));
  CHECK(i.shape() == Shape{0, 3, 3, 3, 4});
  CHECK_ERROR_CONTAINS(
      functional::max_pool3d_with_indices(randn({2, 3, 3}), 2),
      "max_pool3d_with_indices", "5-D", "[2, 3, 3]");
  CHECK_ERROR_CONTAINS(
      functional::adaptive_max_pool3d_with_indices(zeros({2, 0, 3, 3}), 2),
      "adaptive_max_pool3d_with_indices", "non-batch extent");
}

TEST_CASE("max_unpool3d matches PyTorch's CPU loop, repeats: last wins") {
  Generator gen(34);
  for (int t = 0; t < 60; ++t) {
    CAPTURE(t);
    std::array<int64_t, 3> small{}, k{}, s{}, out{};
    for (size_t a = 0; a < 3; ++a) {
      small[a] = pick(gen, 1, 4);
      k[a] = pick(gen, 1, 3);
      s[a] = pick(gen, 1, 3);
      out[a] = (small[a] - 1) * s[a] + k[a];
    }
    const int64_t large = out[0] * out[1] * out[2];
    const Shape xs{2, 2, small[0], small[1], small[2]};
    const Tensor x = randn(xs, kFloat64, &gen);
    const Tensor idx = random_indices(xs, large, gen);
    const auto o = functional::MaxUnpool3dFuncOptions({k[0], k[1], k[2]})
                       .stride({s[0], s[1], s[2]});
    const Tensor xg = x.detach().requires_grad_();
    const Tensor y = functional::max_unpool3d(xg, idx, o);
    REQUIRE(y.shape() == Shape{2, 2, out[0], out[1], out[2]});
    CHECK(test::bit_equal(y.detach(), naive_unpool(x, idx, out)));
    // The gradient is the exact adjoint of the forward (0 for overwritten
    // repeats), and the double backward is the forward again.
    const Tensor gy = randn(y.shape(), kFloat64, &gen).requires_grad_();
    const Tensor dx = autograd::grad({y}, {xg}, {gy}, true)[0];
    const Tensor want = adjoint_by_columns(
        [&](const Tensor& e) { return naive_unpool(e, idx, out); }, xs,
        gy.detach());
    CHECK(test::max_abs_diff(dx, want) == 0);
    const Tensor v = randn(xs, kFloat64, &gen);
    const Tensor ddy = autograd::grad({dx}, {gy}, {v})[0];
    CHECK(test::bit_equal(ddy, naive_unpool(v, idx, out)));
  }
}

TEST_CASE("max_unpool3d inverts max_pool3d at its indices, odd sizes") {
  Generator gen(35);
  // Positive (an unpooled plane's zeros never win a window) and no ties.
  const Tensor x = uniform({2, 3, 5, 7, 6}, 0.5, 1.5, kFloat64, &gen);
  MaxPool3d pool(2);
  MaxUnpool3d unpool(2);
  Tensor y, i;
  std::tie(y, i) = pool->forward_with_indices(x);
  const Tensor back = unpool(y, i, x.shape());
  REQUIRE(back.shape() == x.shape());
  // Each maximum is back in place, every other element is 0.
  CHECK(test::bit_equal(
      where(ne(back, zeros_like(back)), x, zeros_like(x)), back));
  CHECK(
      sum(ne(back, zeros_like(back))).item() == static_cast<double>(y.numel()));
  CHECK(test::bit_equal(pool(back), y));
  // Without output_size the default extents (2 - 1) * 2 + 2 = 4, (3 - 1) *
  // 2 + 2 = 6, 6 make a smaller plane than x's: some index is outside it.
  CHECK_ERROR_CONTAINS(
      unpool(y, i), "max_unpool3d", "index", "outside the output plane",
      "4 x 6 x 6 = 144");
  // Unbatched.
  std::tie(y, i) = pool->forward_with_indices(x.select(0, 1));
  const Tensor bu = unpool(y, i, std::vector<int64_t>{5, 7, 6});
  CHECK(test::bit_equal(bu, back.select(0, 1).contiguous()));
  // Overlapping windows give repeated indices; each holds the same value.
  MaxPool3d overlap(MaxPool3dOptions(3).stride(1));
  std::tie(y, i) = overlap->forward_with_indices(x);
  const Tensor bo = functional::max_unpool3d(
      y, i, functional::MaxUnpool3dFuncOptions(3).stride(1));
  CHECK(test::bit_equal(where(ne(bo, zeros_like(bo)), x, zeros_like(x)), bo));
  CHECK(sum(ne(bo, zeros_like(bo))).item() < static_cast<double>(y.numel()));
}

TEST_CASE("max_unpool3d: output_size, padding, empty batch, printing") {
  const Tensor x = randn({1, 2, 3, 3, 3});
  const Tensor i = zeros({1, 2, 3, 3, 3}, kInt64);
  // (3 - 1) * 2 - 2 * 1 + 3 = 5
  CHECK(
      MaxUnpool3d(MaxUnpool3dOptions(3).stride(2).padding(1))(x, i).shape() ==
      Shape{1, 2, 5, 5, 5});
  MaxUnpool3d u(2);
  CHECK(u(x, i).shape() == Shape{1, 2, 6, 6, 6});
  CHECK(
      u(x, i, std::vector<int64_t>{1, 2, 5, 7, 6}).shape() ==
      Shape{1, 2, 5, 7, 6});
  CHECK(u(x, i, std::vector<int64_t>{7, 5, 7}).shape() == Shape{1, 2, 7, 5, 7});
  CHECK_ERROR_CONTAINS(
      u(x, i, std::vector<int64_t>{8, 6, 6}), "max_unpool3d",
      "invalid output_size (8, 6, 6)", "dimension 0 is 8", "> 4 and < 8");
  CHECK_ERROR_CONTAINS(
      u(x, i, std::vector<int64_t>{6, 4, 6}), "dimension 1 is 4",
      "> 4 and < 8");
  CHECK_ERROR_CONTAINS(
      u(x, i, std::vector<int64_t>{2, 6, 6, 6}), "output_size", "3 elements",
      "or 5", "got 4");
  // Every value lands at position 0 of its plane: the last one wins.
  const Tensor y = u(x, i);
  CHECK(
      y.select(1, 1).flatten().select(0, 0).item() ==
      x.select(1, 1).flatten().select(0, 26).item());
  CHECK(
      u(zeros({0, 2, 3, 3, 3}), zeros({0, 2, 3, 3, 3}, kInt64)).shape() ==
      Shape{0, 2, 6, 6, 6});
  std::ostringstream os;
  os << MaxUnpool3d(MaxUnpool3dOptions({2, 3, 2}).stride(2).padding({0, 1, 0}));
  CHECK(
      os.str() ==
      "MaxUnpool3d(kernel_size=(2, 3, 2), stride=(2, 2, 2), padding=(0, 1, "
      "0))  # 0 parameters");
}

TEST_CASE("max_unpool3d: bad indices and arguments name value and rule") {
  const Tensor x = randn({1, 2, 2, 2, 2});
  MaxUnpool3d u(2);  // output 4 x 4 x 4 = 64 per plane
  for (int64_t v : {int64_t{64}, int64_t{-1}, int64_t{1} << 40}) {
    CAPTURE(v);
    std::vector<int64_t> iv(16, 0);
    iv[13] = v;
    const Tensor bad = from_blob(iv.data(), {1, 2, 2, 2, 2});
    const std::string head = "max_unpool3d: index " + std::to_string(v) + " ";
    CHECK_ERROR_CONTAINS(
        u(x, bad), head.c_str(), "element 5 of (n, c) plane 1",
        "4 x 4 x 4 = 64", "[0, 64)");
  }
  const Tensor ok = zeros({1, 2, 2, 2, 2}, kInt64);
  CHECK_ERROR_CONTAINS(
      u(x, ok.to(kFloat32)), "max_unpool3d", "indices must be int64",
      "float32");
  CHECK_ERROR_CONTAINS(
      u(x.to(kInt64), ok), "max_unpool3d", "input is int64", "float32");
  CHECK_ERROR_CONTAINS(
      u(x, zeros({1, 2, 2, 2, 1}, kInt64)), "max_unpool3d",
      "indices must have the input's shape [1, 2, 2, 2, 2]",
      "got [1, 2, 2, 2, 1]");
  CHECK_ERROR_CONTAINS(
      u(randn({2, 2, 2}), zeros({2, 2, 2}, kInt64)), "5-D", "unbatched 4-D",
      "[2, 2, 2]");
  CHECK_ERROR_CONTAINS(
      u(zeros({1, 2, 0, 2, 2}), zeros({1, 2, 0, 2, 2}, kInt64)),
      "non-batch extent");
  CHECK_ERROR_CONTAINS(u(Tensor(), ok), "max_unpool3d", "input is undefined");
  CHECK_ERROR_CONTAINS(u(x, Tensor()), "max_unpool3d", "indices are undefined");
  CHECK_ERROR_CONTAINS(
      MaxUnpool3d(MaxUnpool3dOptions({2, 0, 2})), "MaxUnpool3d", "kernel_size",
      "(2, 0, 2)", "[1, 2^31]");
  CHECK_ERROR_CONTAINS(
      MaxUnpool3d(MaxUnpool3dOptions(2).stride(0)), "stride", "(0, 0, 0)");
  CHECK_ERROR_CONTAINS(
      MaxUnpool3d(MaxUnpool3dOptions(2).padding(-1)), "padding", "(-1, -1, -1)",
      "[0, 2^31]");
  // (1 - 1) * 2 - 2 * 2 + 2 < 1
  CHECK_ERROR_CONTAINS(
      MaxUnpool3d(MaxUnpool3dOptions(2).padding(2))(
          randn({1, 1, 1, 1, 1}), zeros({1, 1, 1, 1, 1}, kInt64)),
      "max_unpool3d", "output size (-2, -2, -2)", "must be >= 1");
  CHECK_ERROR_CONTAINS(
      functional::max_unpool3d(
          x, ok,
          functional::MaxUnpool3dFuncOptions(2).stride(int64_t{1} << 32)),
      "max_unpool3d", "stride", "[1, 2^31]");
}

TEST_CASE("max_unpool3d: bit-identical for 1, 2 and 3 threads") {
  Generator gen(36);
  const Shape xs{3, 5, 9, 10, 11};
  const Tensor x = randn(xs, kFloat32, &gen);
  const Tensor idx = random_indices(xs, 18 * 20 * 22, gen);
  auto run = [&] {
    const Tensor xg = x.detach().requires_grad_();
    const Tensor y = functional::max_unpool3d(xg, idx, 2);
    const Tensor gy = ones_like(y).requires_grad_();
    const Tensor dx = autograd::grad({y}, {xg}, {gy}, true)[0];
    const Tensor ddy = autograd::grad({dx}, {gy}, {x})[0];
    return TensorList{y, dx, ddy};
  };
  const TensorList one = test::with_threads(1, run);
  for (int threads : {2, 3}) {
    const TensorList many = test::with_threads(threads, run);
    for (size_t k = 0; k < one.size(); ++k)
      CHECK(test::bit_equal(one[k], many[k]));
  }
}

}  // namespace voxgrad::nn
