// The three conv kernels on extreme geometries (issue 10, class 1): strides,
// paddings and dilations from 1 up to INT64_MAX on tiny tensors. Each
// geometry is either refused by validate() with a voxgrad::Error, or all
// three kernels agree with the naive reference: never a crash, a hang, UB
// (the ASan+UBSan build runs this too) or a wrong value. Stride INT64_MAX
// returned 0 (an overflowing ceil-division), padding 2^61 hung, stride 2^58
// crashed the weight gradient.

#include <limits>
#include <random>

#include "test_util.hpp"
#include "tests/core/conv3d_reference.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"

namespace voxgrad {
namespace {

using kernels::ConvGeometry3d;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

template <class T>
void expect_close(
    const std::vector<T>& got,
    const test::RefResult<T>& want,
    const char* what,
    const std::string& geom) {
  REQUIRE(got.size() == want.val.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = 1e-5 * static_cast<double>(want.abs[i]) + 1e-6;
    if (!(std::abs(
              static_cast<double>(got[i]) - static_cast<double>(want.val[i])) <=
          tol)) {
      FAIL_CHECK(
          what, " element ", i, ": got ", got[i], ", want ",
          static_cast<double>(want.val[i]), "; geometry ", geom);
      return;
    }
  }
}

}  // namespace

TEST_CASE("conv3d kernels on extreme strides, paddings and dilations") {
  const int64_t steps[] = {
      1,
      2,
      3,
      5,
      1 << 20,
      (int64_t{1} << 31) - 1,
      int64_t{1} << 31,
      (int64_t{1} << 31) + 1,
      int64_t{1} << 40,
      int64_t{1} << 58,
      int64_t{1} << 61,
      kMax - 1,
      kMax};
  const int64_t pads[] = {
      0,
      1,
      2,
      4,
      1 << 20,
      int64_t{1} << 31,
      int64_t{1} << 40,
      int64_t{1} << 61,
      kMax / 2,
      kMax};
  std::mt19937_64 rng(7);
  auto pick = [&](const auto& arr) {
    return arr[rng() % (sizeof(arr) / sizeof(arr[0]))];
  };
  int ran = 0, refused = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    ConvGeometry3d g;
    g.N = 1 + static_cast<int64_t>(rng() % 2);
    g.groups = 1 + static_cast<int64_t>(rng() % 2);
    g.C_in = g.groups * (1 + static_cast<int64_t>(rng() % 2));
    g.C_out = g.groups * (1 + static_cast<int64_t>(rng() % 2));
    bool transposed = rng() % 2 == 0;
    bool ok = true;
    for (size_t a = 0; a < 3; ++a) {
      g.kernel[a] = 1 + static_cast<int64_t>(rng() % 3);
      // Mostly ordinary axes, one or two extreme ones.
      const bool wild = rng() % 3 == 0;
      g.stride[a] = wild ? pick(steps) : 1 + static_cast<int64_t>(rng() % 2);
      g.padding[a] = wild ? pick(pads) : static_cast<int64_t>(rng() % 2);
      g.dilation[a] =
          wild && rng() % 2 ? pick(steps) : 1 + static_cast<int64_t>(rng() % 2);
      if (transposed) {
        // A ConvTranspose3d input (the conv's out) of 1-3, its output_padding
        // below max(stride, dilation): the conv's in follows, or overflows.
        g.out[a] = 1 + static_cast<int64_t>(rng() % 3);
        __extension__ typedef __int128 I;
        const I lim = std::max(g.stride[a], g.dilation[a]);
        const I extra = static_cast<I>(rng() % 3) % lim;
        const I in = (I{g.out[a]} - 1) * g.stride[a] - 2 * I{g.padding[a]} +
                     I{g.dilation[a]} * (g.kernel[a] - 1) + 1 + extra;
        if (in < 1 || in > 6) {
          ok = false;  // too big to run, or empty: not this test's subject
          break;
        }
        g.in[a] = static_cast<int64_t>(in);
      } else {
        g.in[a] = 1 + static_cast<int64_t>(rng() % 5);
        g.out[a] = ConvGeometry3d::conv_out_size(
            g.in[a], g.kernel[a], g.stride[a], g.padding[a], g.dilation[a]);
        if (g.out[a] < 1 || g.out[a] > 6) {
          ok = false;
          break;
        }
      }
    }
    if (!ok)
      continue;
    const std::string geom = g.str();
    CAPTURE(geom);
    const std::string err = test::error_of([&] { g.validate("conv3d"); });
    if (!err.empty()) {
      CHECK(err.find("conv3d") != std::string::npos);
      ++refused;
      continue;
    }
    ++ran;
    std::vector<float> x(static_cast<size_t>(g.x_numel())),
        w(static_cast<size_t>(g.w_numel())),
        dy(static_cast<size_t>(g.y_numel()));
    for (auto* v : {&x, &w, &dy})
      for (float& e : *v)
        e = static_cast<float>(static_cast<int>(rng() % 7) - 3);
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
    kernels::conv3d_fwd<float>(g, x.data(), w.data(), y.data(), nullptr);
    expect_close(
        y, test::ref_conv3d_fwd<float>(g, x.data(), w.data()), "fwd", geom);
    kernels::conv3d_bwd_data<float>(g, dy.data(), w.data(), dx.data(), nullptr);
    expect_close(
        dx, test::ref_conv3d_bwd_data<float>(g, dy.data(), w.data()),
        "bwd_data", geom);
    kernels::conv3d_bwd_weight<float>(
        g, x.data(), dy.data(), dw.data(), nullptr);
    expect_close(
        dw, test::ref_conv3d_bwd_weight<float>(g, x.data(), dy.data()),
        "bwd_weight", geom);
  }
  MESSAGE("ran ", ran, " extreme geometries, ", refused, " refused");
  CHECK(ran > 40);
  CHECK(refused > 5);
}

TEST_CASE("canonical() keeps the map and makes irrelevant steps small") {
  ConvGeometry3d g;
  g.N = 1;
  g.C_in = g.C_out = 1;
  g.in = {4, 4, 4};
  g.kernel = {3, 1, 3};
  g.stride = {kMax, 2, 1};
  g.padding = {1, 0, 0};
  g.dilation = {1, kMax, 1};
  for (size_t a = 0; a < 3; ++a)
    g.out[a] = ConvGeometry3d::conv_out_size(
        g.in[a], g.kernel[a], g.stride[a], g.padding[a], g.dilation[a]);
  CHECK(g.out == kernels::Int3{1, 2, 2});
  g.validate("conv3d");
  const ConvGeometry3d c = g.canonical();
  c.validate("conv3d");
  CHECK(c.stride[0] <= 4);    // one output position: the stride is irrelevant
  CHECK(c.dilation[1] == 1);  // a one-tap kernel: the dilation is irrelevant
  CHECK(c.stride[1] == 2);
  CHECK(c.out == g.out);
  CHECK(c.in == g.in);
}

}  // namespace voxgrad
