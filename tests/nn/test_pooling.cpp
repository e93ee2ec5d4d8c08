// Pooling layers (voxgrad/nn/pooling, voxgrad/autograd/ops/pool.cpp,
// voxgrad/core/kernels/pool3d): against loops written from PyTorch's own
// rules over many random geometries, adjointness of the average pool pair,
// bit-identical results for any thread count, output extents (ceil_mode's
// last-window rule), unbatched and empty batches, errors. PyTorch parity is
// in test_kit_golden.cpp.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

struct Geometry {
  Int3 kernel{1}, stride{1}, padding{0};
  bool ceil_mode = false;
};

/// PyTorch's pooling_output_shape (dilation 1).
int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil) {
  const int64_t num = in + 2 * p - (k - 1) - 1 + (ceil ? s - 1 : 0);
  int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil && (o - 1) * s >= in + p)
    --o;
  return o;
}

/// avg_pool3d_out_frame of PyTorch 1.13, one output element at a time.
Tensor naive_avg_pool(
    const Tensor& x,
    const Geometry& g,
    bool count_include_pad,
    int64_t divisor_override) {
  const int64_t n = x.size(0), c = x.size(1);
  std::array<int64_t, 3> in{x.size(2), x.size(3), x.size(4)}, out{};
  for (size_t a = 0; a < 3; ++a)
    out[a] =
        out_extent(in[a], g.kernel[a], g.stride[a], g.padding[a], g.ceil_mode);
  Tensor y = zeros({n, c, out[0], out[1], out[2]}, kFloat64);
  const auto xv = x.to_vector<double>();
  std::vector<double> yv(static_cast<size_t>(y.numel()));
  size_t at = 0;
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) {
          const std::array<int64_t, 3> o{od, oh, ow};
          std::array<int64_t, 3> lo{}, hi{};
          int64_t pool = 1, clipped = 1;
          for (size_t a = 0; a < 3; ++a) {
            const int64_t s = o[a] * g.stride[a] - g.padding[a];
            const int64_t e = std::min(s + g.kernel[a], in[a] + g.padding[a]);
            pool *= e - s;
            lo[a] = std::max<int64_t>(s, 0);
            hi[a] = std::min(e, in[a]);
            clipped *= hi[a] - lo[a];
          }
          double sum = 0;
          for (int64_t d = lo[0]; d < hi[0]; ++d)
            for (int64_t h = lo[1]; h < hi[1]; ++h)
              for (int64_t w = lo[2]; w < hi[2]; ++w)
                sum += xv[static_cast<size_t>(
                    ((p * in[0] + d) * in[1] + h) * in[2] + w)];
          const int64_t div = divisor_override
                                  ? divisor_override
                                  : (count_include_pad ? pool : clipped);
          yv[at++] = sum / static_cast<double>(div);
        }
  return tensor(yv, y.shape(), kFloat64);
}

/// adaptive_avg_pool3d of PyTorch 1.13, one output element at a time.
Tensor naive_adaptive_avg(const Tensor& x, const std::array<int64_t, 3>& out) {
  const int64_t n = x.size(0), c = x.size(1);
  std::array<int64_t, 3> in{x.size(2), x.size(3), x.size(4)};
  const auto xv = x.to_vector<double>();
  std::vector<double> yv;
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) {
          const std::array<int64_t, 3> o{od, oh, ow};
          std::array<int64_t, 3> lo{}, hi{};
          for (size_t a = 0; a < 3; ++a) {
            lo[a] = o[a] * in[a] / out[a];
            hi[a] = ((o[a] + 1) * in[a] + out[a] - 1) / out[a];
          }
          double sum = 0;
          for (int64_t d = lo[0]; d < hi[0]; ++d)
            for (int64_t h = lo[1]; h < hi[1]; ++h)
              for (int64_t w = lo[2]; w < hi[2]; ++w)
                sum += xv[static_cast<size_t>(
                    ((p * in[0] + d) * in[1] + h) * in[2] + w)];
          yv.push_back(
              sum / static_cast<double>(
                        (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2])));
        }
  return tensor(yv, {n, c, out[0], out[1], out[2]}, kFloat64);
}

/// The input gradient of a linear map f at any point, by columns: the
/// adjoint applied to gy, <f(e_i), gy> for every basis vector e_i.
Tensor adjoint_by_columns(
    const std::function<Tensor(const Tensor&)>& f,
    const Shape& in_shape,
    const Tensor& gy) {
  const int64_t n = numel(in_shape);
  std::vector<double> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> e(static_cast<size_t>(n), 0.0);
    e[static_cast<size_t>(i)] = 1;
    g[static_cast<size_t>(i)] =
        (f(tensor(e, in_shape, kFloat64)) * gy).sum().item();
  }
  return tensor(g, in_shape, kFloat64);
}

int64_t pick(Generator& g, int64_t lo, int64_t hi) {  // in [lo, hi]
  return lo + static_cast<int64_t>(
                  uniform({}, 0.0, 1.0, kFloat64, &g).item() *
                  static_cast<double>(hi - lo + 1)) %
                  (hi - lo + 1);
}

}  // namespace

TEST_CASE("avg_pool3d matches PyTorch's loop over 300 random geometries") {
  Generator gen(5);
  int checked_grads = 0;
  for (int t = 0; t < 300; ++t) {
    Geometry g;
    std::array<int64_t, 3> k{}, s{}, p{}, in{};
    for (size_t a = 0; a < 3; ++a) {
      k[a] = pick(gen, 1, 4);
      s[a] = pick(gen, 1, 3);
      p[a] = pick(gen, 0, k[a] / 2);
      in[a] = pick(gen, std::max<int64_t>(1, k[a] - 2 * p[a]), 7);
    }
    g.kernel = Int3(k[0], k[1], k[2]);
    g.stride = Int3(s[0], s[1], s[2]);
    g.padding = Int3(p[0], p[1], p[2]);
    g.ceil_mode = pick(gen, 0, 1) == 1;
    const bool cip = pick(gen, 0, 1) == 1;
    const int64_t div = pick(gen, 0, 3) == 0 ? pick(gen, -3, 5) : 0;
    CAPTURE(t);
    AvgPool3dOptions o(g.kernel);
    o.stride(g.stride).padding(g.padding).ceil_mode(g.ceil_mode);
    o.count_include_pad(cip);
    if (div != 0)
      o.divisor_override(div);
    const Tensor x = randn({2, 1, in[0], in[1], in[2]}, kFloat64, &gen);
    const Tensor want = naive_avg_pool(x, g, cip, div);
    const Tensor got = functional::avg_pool3d(x, o);
    REQUIRE(got.shape() == want.shape());
    CHECK(test::max_abs_diff(got, want) < 1e-12);
    if (t % 10 == 0) {  // the backward is the adjoint of the forward
      const Tensor xg = x.detach().requires_grad_();
      const Tensor gy = randn(want.shape(), kFloat64, &gen);
      const Tensor dx =
          autograd::grad({functional::avg_pool3d(xg, o)}, {xg}, {gy})[0];
      const Tensor ref = adjoint_by_columns(
          [&](const Tensor& e) { return naive_avg_pool(e, g, cip, div); },
          x.shape(), gy);
      CHECK(test::max_abs_diff(dx, ref) < 1e-12);
      ++checked_grads;
    }
  }
  CHECK(checked_grads == 30);
}

TEST_CASE("adaptive_avg_pool3d matches PyTorch's windows, down and up") {
  Generator gen(6);
  for (int t = 0; t < 100; ++t) {
    std::array<int64_t, 3> in{}, out{};
    for (size_t a = 0; a < 3; ++a) {
      in[a] = pick(gen, 1, 8);
      out[a] = pick(gen, 1, 8);
    }
    CAPTURE(t);
    const Tensor x = randn({1, 2, in[0], in[1], in[2]}, kFloat64, &gen);
    const AdaptiveAvgPool3dOptions o(out[0], out[1], out[2]);
    const Tensor got = functional::adaptive_avg_pool3d(x, o);
    CHECK(test::max_abs_diff(got, naive_adaptive_avg(x, out)) < 1e-12);
    // <A x, y> = <x, A^T y>
    const Tensor y = randn(got.shape(), kFloat64, &gen);
    const Tensor xg = x.detach().requires_grad_();
    const Tensor aty =
        autograd::grad({functional::adaptive_avg_pool3d(xg, o)}, {xg}, {y})[0];
    CHECK(
        (got * y).sum().item() ==
        doctest::Approx((x * aty).sum().item()).epsilon(1e-12));
  }
}

TEST_CASE("average pooling: bit-identical for 1, 2 and 3 threads") {
  Generator gen(7);
  const Tensor x = randn({3, 5, 17, 18, 19}, kFloat32, &gen);
  for (const AvgPool3dOptions& o :
       {AvgPool3dOptions(2), AvgPool3dOptions(3).stride(2).padding(1),
        AvgPool3dOptions({3, 2, 4}).stride({1, 2, 3}).ceil_mode(true)}) {
    auto run = [&] {
      const Tensor xg = x.detach().requires_grad_();
      const Tensor y = functional::avg_pool3d(xg, o);
      const Tensor dx = autograd::grad({y}, {xg}, {ones_like(y)})[0];
      const Tensor ya = functional::adaptive_avg_pool3d(x, {5, 7, 3});
      return TensorList{y, dx, ya};
    };
    const TensorList one = test::with_threads(1, run);
    for (int threads : {2, 3}) {
      const TensorList many = test::with_threads(threads, run);
      for (size_t i = 0; i < one.size(); ++i)
        CHECK(test::bit_equal(one[i], many[i]));
    }
  }
}

TEST_CASE("AvgPool3d: extents, ceil_mode's last window, batchedness") {
  const Tensor x = randn({2, 3, 5, 5, 5});
  CHECK(AvgPool3d(2)(x).shape() == Shape{2, 3, 2, 2, 2});
  CHECK(
      AvgPool3d(AvgPool3dOptions(2).ceil_mode(true))(x).shape() ==
      Shape{2, 3, 3, 3, 3});
  // k2 s2 p1 on 5 with ceil_mode: 4 windows would start at 5 >= 5 + 1 - 1:
  // the last window must start inside the input or its left padding.
  CHECK(
      AvgPool3d(AvgPool3dOptions(2).padding(1).ceil_mode(true))(x).shape() ==
      Shape{2, 3, 3, 3, 3});
  const Tensor u = AvgPool3d(3)(x.select(0, 1));
  CHECK(u.shape() == Shape{3, 1, 1, 1});
  CHECK(test::bit_equal(u, AvgPool3d(3)(x).select(0, 1)));
  const Tensor empty_batch = zeros({0, 3, 4, 4, 4});
  CHECK(AvgPool3d(2)(empty_batch).shape() == Shape{0, 3, 2, 2, 2});
  CHECK(
      AdaptiveAvgPool3d(AdaptiveAvgPool3dOptions(2, std::nullopt, 1))(x)
          .shape() == Shape{2, 3, 2, 5, 1});
  CHECK(AdaptiveAvgPool3d(0)(x).shape() == Shape{2, 3, 0, 0, 0});
  std::ostringstream os;
  os << AvgPool3d(AvgPool3dOptions(3).stride(2).padding(1).divisor_override(4))
     << " " << AdaptiveAvgPool3d(AdaptiveAvgPool3dOptions(4, std::nullopt, 2));
  CHECK(
      os.str() ==
      "AvgPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), "
      "ceil_mode=false, count_include_pad=true, divisor_override=4)  # 0 "
      "parameters AdaptiveAvgPool3d(output_size=(4, None, 2))  # 0 "
      "parameters");
}

TEST_CASE("average pooling: bad options and inputs name the rule") {
  const Tensor x = randn({1, 2, 3, 3, 3});
  CHECK_ERROR_CONTAINS(
      AvgPool3d(AvgPool3dOptions(2).padding(2)), "AvgPool3d", "padding",
      "at most half of kernel_size", "(2, 2, 2)");
  CHECK_ERROR_CONTAINS(
      AvgPool3d(AvgPool3dOptions({2, 0, 2})), "kernel_size", "(2, 0, 2)");
  CHECK_ERROR_CONTAINS(
      AvgPool3d(AvgPool3dOptions(2).stride(0)), "stride", "[1, 2^31]");
  CHECK_ERROR_CONTAINS(
      AvgPool3d(AvgPool3dOptions(2).divisor_override(0)), "divisor_override",
      "0");
  CHECK_ERROR_CONTAINS(
      AvgPool3d(4)(x), "avg_pool3d", "output size", "too small",
      "(2, 3, 3, 3)");
  CHECK_ERROR_CONTAINS(
      AvgPool3d(2)(randn({2, 3, 3})), "5-D", "unbatched 4-D", "[2, 3, 3]");
  CHECK_ERROR_CONTAINS(
      AvgPool3d(2)(zeros({1, 2, 0, 3, 3})), "non-batch extent", ">= 1");
  CHECK_ERROR_CONTAINS(AvgPool3d(2)(Tensor()), "undefined");
  CHECK_ERROR_CONTAINS(
      AdaptiveAvgPool3d(AdaptiveAvgPool3dOptions(2, -1, 2)), "output_size",
      ">= 0", "(2, -1, 2)");
  CHECK_ERROR_CONTAINS(
      functional::adaptive_avg_pool3d(zeros({2, 0, 3, 3}), 2),
      "non-batch extent");
}

}  // namespace voxgrad::nn
