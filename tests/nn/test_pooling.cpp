// Pooling layers (voxgrad/nn/pooling, voxgrad/autograd/ops/pool.cpp,
// voxgrad/core/kernels/pool3d): against loops written from PyTorch's own
// rules over many random geometries (max pooling's on inputs full of ties),
// adjointness of the average pool pair,
// bit-identical results for any thread count, output extents (ceil_mode's
// last-window rule), unbatched and empty batches, errors. PyTorch parity is
// in test_kit_golden.cpp.

#include <cmath>
#include <limits>
#include <sstream>

#include "pool_reference.hpp"
#include "test_util.hpp"
#include "voxgrad/autograd/pool_ops.hpp"

namespace voxgrad::nn {
namespace {

using namespace pool_reference;

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

/// max pooling as PyTorch 1.13 computes it (dilation and ceil_mode
/// included; pool_reference::max_windows): the output and the gradient of
/// <y, gy> (gy scattered to each window's chosen index, in output order).
/// Adaptive windows instead when `adaptive_out` is given.
std::pair<Tensor, Tensor> naive_max_pool(
    const Tensor& x,
    const Geometry& g,
    const Int3& dilation,
    const Tensor& gy,
    const std::array<int64_t, 3>* adaptive_out = nullptr) {
  const int64_t n = x.size(0), c = x.size(1);
  std::array<int64_t, 3> in{x.size(2), x.size(3), x.size(4)}, out{};
  for (size_t a = 0; a < 3; ++a) {
    if (adaptive_out) {
      out[a] = (*adaptive_out)[a];
      continue;
    }
    const int64_t d = dilation[a], k = g.kernel[a], s = g.stride[a];
    const int64_t num =
        in[a] + 2 * g.padding[a] - d * (k - 1) - 1 + (g.ceil_mode ? s - 1 : 0);
    out[a] = num / s + 1;
    if (g.ceil_mode && (out[a] - 1) * s >= in[a] + g.padding[a])
      --out[a];
  }
  const MaxWindows m = max_windows(
      x, out, g.kernel, g.stride, g.padding, dilation, adaptive_out != nullptr);
  const auto gv = gy.defined() ? gy.to_vector<double>() : std::vector<double>{};
  std::vector<double> dx(static_cast<size_t>(x.numel()), 0.0);
  const int64_t plane = in[0] * in[1] * in[2];
  const int64_t outputs = out[0] * out[1] * out[2];
  if (!gv.empty())
    for (size_t at = 0; at < m.indices.size(); ++at)
      dx[static_cast<size_t>(
          static_cast<int64_t>(at) / outputs * plane + m.indices[at])] +=
          gv[at];
  return {
      tensor(m.values, {n, c, out[0], out[1], out[2]}, kFloat64),
      tensor(dx, x.shape(), kFloat64)};
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

TEST_CASE("max_pool3d matches PyTorch's loop over 300 random geometries") {
  Generator gen(8);
  for (int t = 0; t < 300; ++t) {
    Geometry g;
    std::array<int64_t, 3> k{}, s{}, p{}, d{}, in{};
    for (size_t a = 0; a < 3; ++a) {
      k[a] = pick(gen, 1, 4);
      s[a] = pick(gen, 1, 3);
      p[a] = pick(gen, 0, k[a] / 2);
      d[a] = pick(gen, 1, 3);
      // at least one window's span: then no window lies in padding alone
      const int64_t span = d[a] * (k[a] - 1) + 1;
      in[a] = pick(gen, span, span + 5);
    }
    g.kernel = Int3(k[0], k[1], k[2]);
    g.stride = Int3(s[0], s[1], s[2]);
    g.padding = Int3(p[0], p[1], p[2]);
    g.ceil_mode = pick(gen, 0, 1) == 1;
    const Int3 dil(d[0], d[1], d[2]);
    CAPTURE(t);
    const MaxPool3dOptions o = MaxPool3dOptions(g.kernel)
                                   .stride(g.stride)
                                   .padding(g.padding)
                                   .dilation(dil)
                                   .ceil_mode(g.ceil_mode);
    const Tensor x = quantized({2, 1, in[0], in[1], in[2]}, 2, gen);
    const Tensor xg = x.detach().requires_grad_();
    const Tensor y = functional::max_pool3d(xg, o);
    const Tensor gy = randn(y.shape(), kFloat64, &gen);
    const auto [want, want_dx] = naive_max_pool(x, g, dil, gy);
    REQUIRE(y.shape() == want.shape());
    CHECK(test::bit_equal(y.detach(), want));
    const Tensor dx = autograd::grad({y}, {xg}, {gy})[0];
    CHECK(test::max_abs_diff(dx, want_dx) < 1e-12);
  }
}

TEST_CASE("adaptive_max_pool3d matches PyTorch's windows, ties and NaN") {
  Generator gen(9);
  for (int t = 0; t < 100; ++t) {
    std::array<int64_t, 3> in{}, out{};
    for (size_t a = 0; a < 3; ++a) {
      in[a] = pick(gen, 1, 8);
      out[a] = pick(gen, 1, 8);
    }
    CAPTURE(t);
    // Every 4th input has NaN, which wins its windows (the last NaN in
    // scan order).
    const Tensor x =
        quantized({1, 2, in[0], in[1], in[2]}, 1, gen, t % 4 == 0 ? 0.1 : 0.0);
    const Tensor xg = x.detach().requires_grad_();
    const Tensor y =
        functional::adaptive_max_pool3d(xg, {out[0], out[1], out[2]});
    const Tensor gy = randn(y.shape(), kFloat64, &gen);
    const auto [want, want_dx] = naive_max_pool(x, {}, 1, gy, &out);
    REQUIRE(y.shape() == want.shape());
    CHECK(test::bit_equal(y.detach(), want));
    CHECK(
        test::max_abs_diff(autograd::grad({y}, {xg}, {gy})[0], want_dx) <
        1e-12);
  }
}

TEST_CASE("max pooling: NaN, -inf windows, ties go to the first element") {
  // One window of 8: ties at the first and last scan positions.
  const Tensor x = tensor({3., 1, 1, 3, 2, 3, 0, 3}, {1, 1, 2, 2, 2}, kFloat64)
                       .requires_grad_();
  const Tensor y = functional::max_pool3d(x, 2);
  CHECK(y.item() == 3);
  CHECK(
      autograd::grad({y}, {x}, {ones_like(y)})[0].to_vector<double>() ==
      std::vector<double>{1, 0, 0, 0, 0, 0, 0, 0});
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor z =
      tensor({-inf, -inf, NAN, 1, NAN, 2, -inf, 0}, {1, 1, 2, 2, 2}, kFloat64)
          .requires_grad_();
  const Tensor yz = functional::max_pool3d(z, 2);
  CHECK(std::isnan(yz.item()));
  CHECK(  // the last NaN wins, as PyTorch's `val > max || isnan(val)`
      autograd::grad({yz}, {z}, {ones_like(yz)})[0].to_vector<double>() ==
      std::vector<double>{0, 0, 0, 0, 1, 0, 0, 0});
  const Tensor all_inf = full({1, 1, 2, 2, 2}, -inf, kFloat64).requires_grad_();
  const Tensor yi = functional::max_pool3d(all_inf, 2);
  CHECK(yi.item() == -inf);
  CHECK(
      autograd::grad({yi}, {all_inf}, {ones_like(yi)})[0]
          .to_vector<double>()[0] == 1);
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

TEST_CASE("max pooling: bit-identical for 1, 2 and 3 threads, any order") {
  Generator gen(10);
  const Tensor x = quantized({3, 5, 17, 18, 19}, 2, gen).to(kFloat32);
  for (const MaxPool3dOptions& o :
       {MaxPool3dOptions(2), MaxPool3dOptions(3).stride(2).padding(1),
        MaxPool3dOptions({3, 2, 4})
            .stride({1, 2, 3})
            .dilation({2, 1, 2})
            .ceil_mode(true)}) {
    auto run = [&] {
      const Tensor xg = x.detach().requires_grad_();
      const Tensor y = functional::max_pool3d(xg, o);
      const Tensor gy = ones_like(y).requires_grad_();
      const Tensor dx = autograd::grad({y}, {xg}, {gy}, true)[0];
      // double backward: the gather at the same indices
      const Tensor ddy = autograd::grad({dx}, {gy}, {x})[0];
      const Tensor ya = functional::adaptive_max_pool3d(x, {5, 7, 3});
      return TensorList{y, dx, ddy, ya};
    };
    const TensorList one = test::with_threads(1, run);
    for (int threads : {2, 3}) {
      const TensorList many = test::with_threads(threads, run);
      for (size_t i = 0; i < one.size(); ++i)
        CHECK(test::bit_equal(one[i], many[i]));
    }
  }
}

TEST_CASE("MaxPool3d: extents, dilation, ceil_mode, batchedness, printing") {
  const Tensor x = randn({2, 3, 5, 5, 5});
  CHECK(MaxPool3d(2)(x).shape() == Shape{2, 3, 2, 2, 2});
  CHECK(
      MaxPool3d(MaxPool3dOptions(2).ceil_mode(true))(x).shape() ==
      Shape{2, 3, 3, 3, 3});
  // k2 d2 spans 3: (5 - 3) / 1 + 1 = 3 per axis with stride 1
  CHECK(
      MaxPool3d(MaxPool3dOptions(2).stride(1).dilation(2))(x).shape() ==
      Shape{2, 3, 3, 3, 3});
  const Tensor u = MaxPool3d(3)(x.select(0, 1));
  CHECK(u.shape() == Shape{3, 1, 1, 1});
  CHECK(test::bit_equal(u, MaxPool3d(3)(x).select(0, 1)));
  CHECK(MaxPool3d(2)(zeros({0, 3, 4, 4, 4})).shape() == Shape{0, 3, 2, 2, 2});
  CHECK(
      AdaptiveMaxPool3d(AdaptiveMaxPool3dOptions(2, std::nullopt, 1))(x)
          .shape() == Shape{2, 3, 2, 5, 1});
  CHECK(test::bit_equal(
      AdaptiveMaxPool3d(1)(x).flatten(),
      amax(x.reshape({2, 3, -1}), {2}).flatten()));
  std::ostringstream os;
  os << MaxPool3d(MaxPool3dOptions(3).stride(2).padding(1).dilation({1, 2, 1}))
     << " " << AdaptiveMaxPool3d(AdaptiveMaxPool3dOptions(4, std::nullopt, 2));
  CHECK(
      os.str() ==
      "MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), "
      "dilation=(1, 2, 1), ceil_mode=false)  # 0 parameters "
      "AdaptiveMaxPool3d(output_size=(4, None, 2))  # 0 parameters");
}

TEST_CASE("max pooling: bad options and inputs name the rule") {
  const Tensor x = randn({1, 2, 3, 3, 3});
  CHECK_ERROR_CONTAINS(
      MaxPool3d(MaxPool3dOptions(2).padding(2)), "MaxPool3d", "padding",
      "at most half of kernel_size", "(2, 2, 2)");
  CHECK_ERROR_CONTAINS(
      MaxPool3d(MaxPool3dOptions(2).dilation({1, 0, 1})), "dilation",
      "(1, 0, 1)", "[1, 2^31]");
  CHECK_ERROR_CONTAINS(
      MaxPool3d(MaxPool3dOptions(2).dilation(3))(x), "max_pool3d",
      "output size", "too small", "dilation (3, 3, 3)");
  // k2 p1 d4 on 3: one output, whose taps (-1 and 3) both miss the input
  CHECK_ERROR_CONTAINS(
      functional::max_pool3d(
          randn({1, 1, 3, 3, 3}),
          MaxPool3dOptions(2).padding(1).dilation({1, 1, 4}).stride(1)),
      "max_pool3d", "entirely in padding");
  CHECK_ERROR_CONTAINS(
      MaxPool3d(2)(randn({2, 3, 3})), "max_pool3d", "5-D", "[2, 3, 3]");
  CHECK_ERROR_CONTAINS(MaxPool3d(2)(Tensor()), "undefined");
  CHECK_ERROR_CONTAINS(
      AdaptiveMaxPool3d(AdaptiveMaxPool3dOptions(2, -1, 2)),
      "AdaptiveMaxPool3d", "output_size", ">= 0", "(2, -1, 2)");
  CHECK_ERROR_CONTAINS(
      functional::adaptive_max_pool3d(zeros({2, 0, 3, 3}), 2),
      "adaptive_max_pool3d", "non-batch extent");
  // The ops behind the layers check that the indices fit the tensors.
  PoolSpec3d spec;
  spec.in = {4, 4, 4};
  spec.out = {2, 2, 2};
  spec.kernel = spec.stride = {2, 2, 2};
  PoolIndices idx;
  max_pool3d_op(randn({1, 1, 4, 4, 4}), spec, &idx);
  REQUIRE(idx);
  CHECK(idx->size() == 8);
  CHECK_ERROR_CONTAINS(
      max_pool3d_backward_op(randn({2, 1, 2, 2, 2}), idx, spec),
      "max_pool3d_backward", "expected 16 indices", "got 8");
  CHECK_ERROR_CONTAINS(
      max_pool3d_gather_op(randn({1, 1, 4, 4, 4}), PoolIndices{}, spec),
      "max_pool3d_gather", "got 0");
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
