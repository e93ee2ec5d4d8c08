// nn::Upsample / functional::interpolate and the four upsampling ops:
// a naive per-element reference, adjointness of forward and backward,
// determinism across thread counts, gradients, options and errors. PyTorch
// parity is in test_nn_golden.cpp.

#include <cmath>
#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

struct UpCase {
  std::string label;
  Shape in;
  Size3 out;
  Scales3 scales;
};

/// Up, down, mixed, unchanged-by-scale, size-1 axes, odd sizes.
std::vector<UpCase> up_cases() {
  return {
      {"scale 2", {2, 3, 2, 3, 4}, {4, 6, 8}, {2.0, 2.0, 2.0}},
      {"scale 1.7 2.5 0.6", {1, 2, 3, 4, 5}, {5, 10, 3}, {1.7, 2.5, 0.6}},
      {"unchanged by 1.1", {1, 2, 3, 4, 5}, {3, 6, 2}, {1.1, 1.5, 0.45}},
      {"size only", {2, 1, 5, 3, 4}, {2, 7, 4}, {}},
      {"from size 1", {1, 2, 1, 1, 3}, {3, 4, 1}, {}},
      {"to size 1", {1, 1, 4, 3, 2}, {1, 1, 5}, {}},
  };
}

// PyTorch's formulas, written per output element (double, the golden's
// dtype), for an independent check of the CSR kernel.
double ratio(int64_t in, int64_t out, bool align, std::optional<double> s) {
  if (align)
    return out > 1 ? double(in - 1) / double(out - 1) : 0.0;
  return s && *s > 0 ? 1.0 / *s : double(in) / double(out);
}

int64_t nearest_src(
    int64_t o, int64_t in, int64_t out, std::optional<double> s) {
  const double r = s && *s > 0 ? 1.0 / *s : double(in) / double(out);
  return std::min(
      static_cast<int64_t>(std::floor(static_cast<float>(r * double(o)))),
      in - 1);
}

void linear_src(
    int64_t o,
    int64_t in,
    int64_t out,
    bool align,
    std::optional<double> s,
    int64_t (&i)[2],
    double (&l)[2]) {
  if (in == out) {
    i[0] = i[1] = o;
    l[0] = 1;
    l[1] = 0;
    return;
  }
  const double r = ratio(in, out, align, s);
  double real = align ? r * double(o) : r * (double(o) + 0.5) - 0.5;
  real = std::max(real, 0.0);
  i[0] = static_cast<int64_t>(real);
  i[1] = i[0] + (i[0] < in - 1 ? 1 : 0);
  l[1] = real - double(i[0]);
  l[0] = 1 - l[1];
}

Tensor reference(const Tensor& x, const UpCase& c, bool trilinear, bool align) {
  const Shape& s = x.shape();
  Tensor y = zeros({s[0], s[1], c.out[0], c.out[1], c.out[2]}, kFloat64);
  const auto xv = x.contiguous().to_vector<double>();
  double* yp = y.mutable_data<double>();
  int64_t k = 0;
  for (int64_t p = 0; p < s[0] * s[1]; ++p)
    for (int64_t d = 0; d < c.out[0]; ++d)
      for (int64_t h = 0; h < c.out[1]; ++h)
        for (int64_t w = 0; w < c.out[2]; ++w, ++k) {
          auto at = [&](int64_t a, int64_t b, int64_t e) {
            return xv[static_cast<size_t>(
                ((p * s[2] + a) * s[3] + b) * s[4] + e)];
          };
          if (!trilinear) {
            yp[k] =
                at(nearest_src(d, s[2], c.out[0], c.scales[0]),
                   nearest_src(h, s[3], c.out[1], c.scales[1]),
                   nearest_src(w, s[4], c.out[2], c.scales[2]));
            continue;
          }
          int64_t id[2], ih[2], iw[2];
          double ld[2], lh[2], lw[2];
          linear_src(d, s[2], c.out[0], align, c.scales[0], id, ld);
          linear_src(h, s[3], c.out[1], align, c.scales[1], ih, lh);
          linear_src(w, s[4], c.out[2], align, c.scales[2], iw, lw);
          double v = 0;
          for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 2; ++b)
              for (int e = 0; e < 2; ++e)
                v += ld[a] * lh[b] * lw[e] * at(id[a], ih[b], iw[e]);
          yp[k] = v;
        }
  return y;
}

double dot(const Tensor& a, const Tensor& b) {
  return (a * b).sum().item();
}

}  // namespace

TEST_CASE("upsample ops match a per-element reference of PyTorch's rules") {
  Generator gen(3);
  for (const UpCase& c : up_cases()) {
    CAPTURE(c.label);
    const Tensor x = randn(c.in, kFloat64, &gen);
    CHECK(
        test::max_abs_diff(
            upsample_nearest3d(x, c.out, c.scales),
            reference(x, c, false, false)) == 0.0);
    for (bool align : {false, true}) {
      CAPTURE(align);
      CHECK(test::allclose(
          upsample_trilinear3d(x, c.out, align, c.scales),
          reference(x, c, true, align), 1e-14, 1e-13));
    }
  }
}

TEST_CASE("upsample backward ops are the adjoints: <A x, y> = <x, A^T y>") {
  Generator gen(4);
  for (const UpCase& c : up_cases()) {
    CAPTURE(c.label);
    const Tensor x = randn(c.in, kFloat64, &gen);
    const Tensor y =
        randn({c.in[0], c.in[1], c.out[0], c.out[1], c.out[2]}, kFloat64, &gen);
    const double lhs = dot(upsample_nearest3d(x, c.out, c.scales), y);
    const double rhs = dot(x, upsample_nearest3d_backward(y, c.in, c.scales));
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
    for (bool align : {false, true}) {
      const double l = dot(upsample_trilinear3d(x, c.out, align, c.scales), y);
      const double r =
          dot(x, upsample_trilinear3d_backward(y, c.in, align, c.scales));
      CHECK(l == doctest::Approx(r).epsilon(1e-12));
    }
  }
}

TEST_CASE("upsample kernels give bit-identical results for 1 and 2 threads") {
  Generator gen(5);
  const Tensor x = randn({2, 3, 6, 7, 9}, kFloat32, &gen);
  const Tensor g = randn({2, 3, 11, 12, 15}, kFloat32, &gen);
  const Size3 out{11, 12, 15};
  auto run = [&] {
    return TensorList{
        upsample_nearest3d(x, out), upsample_nearest3d_backward(g, x.shape()),
        upsample_trilinear3d(x, out, false),
        upsample_trilinear3d_backward(g, x.shape(), true)};
  };
  const TensorList one = test::with_threads(1, run);
  const TensorList two = test::with_threads(2, run);
  for (size_t i = 0; i < one.size(); ++i)
    CHECK(test::bit_equal(one[i], two[i]));
}

TEST_CASE("Upsample: gradients (gradcheck) through the module, both modes") {
  Generator gen(6);
  const Tensor x = randn({1, 2, 2, 3, 2}, kFloat64, &gen).requires_grad_();
  for (auto mode : {UpsampleMode::Nearest, UpsampleMode::Trilinear}) {
    UpsampleOptions o = UpsampleOptions().scale_factor({1.5, 1.7, 2.0});
    o.mode(mode);
    if (mode == UpsampleMode::Trilinear)
      o.align_corners(true);
    Upsample up(o);
    CHECK(gradcheck([&](const TensorList& in) { return up(in[0]); }, {x}));
    CHECK(gradgradcheck([&](const TensorList& in) { return up(in[0]); }, {x}));
  }
}

TEST_CASE("Upsample: output sizes, scale broadcasting, functional, printing") {
  const Tensor x = zeros({2, 3, 4, 5, 6});
  CHECK(
      Upsample(UpsampleOptions().scale_factor(2.0))(x).shape() ==
      Shape{2, 3, 8, 10, 12});
  CHECK(
      Upsample(UpsampleOptions().scale_factor({1.7, 0.5, 1.0}))(x).shape() ==
      Shape{2, 3, 6, 2, 6});
  CHECK(
      functional::interpolate(
          x, UpsampleOptions().size(3).mode(UpsampleMode::Trilinear))
          .shape() == Shape{2, 3, 3, 3, 3});
  const Tensor empty_batch = zeros({0, 3, 4, 5, 6});
  CHECK(
      Upsample(UpsampleOptions().size({2, 2, 2}))(empty_batch).shape() ==
      Shape{0, 3, 2, 2, 2});
  std::ostringstream a, b;
  a << Upsample(UpsampleOptions().scale_factor({2, 2, 2}));
  CHECK(
      a.str() ==
      "Upsample(scale_factor=[2, 2, 2], mode=nearest)  # 0 parameters");
  b << Upsample(UpsampleOptions()
                    .size({4, 5, 6})
                    .mode(UpsampleMode::Trilinear)
                    .align_corners(false));
  CHECK(
      b.str() ==
      "Upsample(size=[4, 5, 6], mode=trilinear, align_corners=false)  # 0 "
      "parameters");
}

TEST_CASE("Upsample: bad options and inputs raise errors naming the rule") {
  CHECK_ERROR_CONTAINS(
      Upsample(UpsampleOptions()), "Upsample", "size and scale_factor",
      "neither");
  CHECK_ERROR_CONTAINS(
      Upsample(UpsampleOptions().size(2).scale_factor(2.0)), "both");
  CHECK_ERROR_CONTAINS(
      Upsample(UpsampleOptions().scale_factor({2.0, 0.0, 1.0})), "scale_factor",
      "[2, 0, 1]", "> 0");
  CHECK_ERROR_CONTAINS(
      Upsample(UpsampleOptions().size({2, 2})), "size", "[2, 2]", "1 or 3");
  CHECK_ERROR_CONTAINS(
      Upsample(UpsampleOptions().size(2).align_corners(true)), "align_corners",
      "trilinear", "nearest");
  Upsample up(UpsampleOptions().scale_factor(0.1));
  CHECK_ERROR_CONTAINS(
      up(zeros({1, 1, 4, 4, 4})), "Upsample", "output size [0, 0, 0]", ">= 1");
  CHECK_ERROR_CONTAINS(
      up(zeros({1, 4, 4, 4})), "Upsample", "5-D", "[1, 4, 4, 4]");
  CHECK_ERROR_CONTAINS(
      functional::interpolate(zeros({1, 1, 2}), UpsampleOptions().size(2)),
      "interpolate", "5-D");
  CHECK_ERROR_CONTAINS(
      upsample_nearest3d_backward(zeros({1, 2, 4, 4, 4}), {1, 3, 2, 2, 2}),
      "upsample_nearest3d_backward", "input_size", "[1, 3, 2, 2, 2]");
  CHECK_ERROR_CONTAINS(
      upsample_trilinear3d(zeros({1, 1, 2, 2, 2}), {0, 1, 1}, false),
      "upsample_trilinear3d", "output", "[0, 1, 1]");
}

}  // namespace voxgrad::nn
