// pad / pad_adjoint (voxgrad/autograd/ops/pad.cpp, kernels in
// voxgrad/core/kernels/pad3d.*): F.pad's reflect / replicate / circular
// against PyTorch 1.13 (tests/golden/padding_modes.json, written by
// tools/gen_padding_golden.py), the adjoint identity over many shapes,
// each op's backward being the other, every validity rule, and determinism.

#include <nlohmann/json.hpp>

#include <fstream>

#include "test_util.hpp"
#include "voxgrad/core/kernels/pad3d.hpp"

namespace voxgrad {
namespace {

using json = nlohmann::json;

const json& golden() {
  static const json doc = [] {
    std::ifstream f(
        std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/padding_modes.json");
    REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/padding_modes.json");
    return json::parse(f);
  }();
  return doc;
}

Tensor from_json(const json& t, Dtype dt = kFloat64) {
  return tensor(
      t.at("data").get<std::vector<double>>(), t.at("shape").get<Shape>(), dt);
}

double dot(const Tensor& a, const Tensor& b) {
  return sum(a * b).item();
}

const PaddingMode kModes[] = {
    PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Replicate,
    PaddingMode::Circular};

}  // namespace

TEST_CASE(
    "pad golden: F.pad's reflect, replicate and circular (PyTorch 1.13)") {
  REQUIRE(golden().at("pad").size() >= 16);
  for (const json& c : golden().at("pad")) {
    CAPTURE(c.at("name").get<std::string>());
    const PaddingMode mode =
        parse_padding_mode(c.at("mode").get<std::string>());
    const auto pads = c.at("pads").get<std::vector<int64_t>>();
    const Tensor x = from_json(c.at("x")).requires_grad_();
    const Tensor y = pad(x, pads, mode);
    // A copy: exact.
    CHECK(test::max_abs_diff(y, from_json(c.at("y"))) == 0.0);
    const Tensor gy = from_json(c.at("gy")), gx = from_json(c.at("gx"));
    y.backward(gy);
    CHECK(test::max_abs_diff(x.grad(), gx) < 1e-13);
    CHECK(test::bit_equal(x.grad(), pad_adjoint(gy, pads, mode)));
    // float32 too.
    const Tensor y32 = pad(from_json(c.at("x"), kFloat32), pads, mode);
    CHECK(test::max_abs_diff(y32, from_json(c.at("y"), kFloat32)) == 0.0);
    CHECK(test::allclose(
        pad_adjoint(from_json(c.at("gy"), kFloat32), pads, mode),
        from_json(c.at("gx"), kFloat32), 1e-5, 1e-5));
  }
}

TEST_CASE(
    "pad_adjoint is the transpose of pad: <pad(x), g> = <x, pad_adjoint(g)>") {
  Generator gen(7);
  struct Shp {
    Shape x;
    std::vector<int64_t> pads;
  };
  const Shp shapes[] = {
      {{2, 3, 4, 5, 6}, {1, 1, 1, 1, 1, 1}},
      {{1, 2, 5, 3, 4}, {3, 0, 2, 1, 0, 4}},
      {{3, 4, 2, 7}, {2, 6, 1, 1, 0, 1}},
      {{1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}},
      {{2, 1, 2, 2, 9}, {8, 1, 1, 1, 1, 0}},
      {{2, 2, 17}, {5, 16}},
      {{3, 2, 6, 5}, {4, 2, 0, 5}},
      {{1, 2, 33, 2, 3}, {2, 1, 1, 0, 7, 9}},
  };
  int checked = 0;
  for (const Shp& s : shapes) {
    for (PaddingMode m : kModes) {
      // Skip what the mode does not allow on this shape (tested below).
      bool fits = true;
      const size_t k = s.pads.size() / 2;
      for (size_t j = 0; j < k; ++j) {
        const int64_t n = s.x[s.x.size() - 1 - j];
        const int64_t lo = s.pads[2 * j], hi = s.pads[2 * j + 1];
        if (m == PaddingMode::Reflect && (lo >= n || hi >= n))
          fits = false;
        if (m == PaddingMode::Circular && (lo > n || hi > n))
          fits = false;
      }
      if (!fits)
        continue;
      CAPTURE(shape_str(s.x));
      CAPTURE(std::string(padding_mode_name(m)));
      const Tensor x = randn(s.x, kFloat64, &gen);
      const Tensor px = pad(x, s.pads, m);
      const Tensor g = randn(px.shape(), kFloat64, &gen);
      const Tensor atg = pad_adjoint(g, s.pads, m);
      REQUIRE(atg.shape() == x.shape());
      const double lhs = dot(px, g), rhs = dot(x, atg);
      CHECK(std::abs(lhs - rhs) <= 1e-13 * (1 + std::abs(lhs)));
      ++checked;
    }
  }
  CHECK(checked >= 25);
}

TEST_CASE(
    "pad and pad_adjoint are each other's backward, double backward too") {
  Generator gen(8);
  const std::vector<int64_t> pads{2, 1, 0, 2, 1, 1};
  for (PaddingMode m : kModes) {
    CAPTURE(std::string(padding_mode_name(m)));
    const Tensor x = randn({2, 3, 4, 3, 5}, kFloat64, &gen).requires_grad_();
    const Tensor y = pad(x, pads, m);
    CHECK(std::string(y.grad_fn()->name()) == "pad");
    const Tensor gy = randn(y.shape(), kFloat64, &gen).requires_grad_();
    const Tensor gx = autograd::grad({y}, {x}, {gy}, true)[0];
    CHECK(std::string(gx.grad_fn()->name()) == "pad_adjoint");
    CHECK(test::bit_equal(gx, pad_adjoint(gy, pads, m)));
    // d<gx, v>/d gy = pad(v): pad_adjoint's backward is pad.
    const Tensor v = randn(x.shape(), kFloat64, &gen);
    const Tensor ggy = autograd::grad({gx}, {gy}, {v})[0];
    CHECK(test::bit_equal(ggy, pad(v, pads, m)));
    CHECK(gradcheck(
        [&](const TensorList& in) { return pad_adjoint(in[0], pads, m); },
        {gy}));
  }
}

TEST_CASE("pad and pad_adjoint check every validity rule") {
  const Tensor x = zeros({2, 3, 4, 5, 6});
  using PM = PaddingMode;
  // Reflect: each amount < the size (here D = 4, H = 5, W = 6).
  CHECK_NOTHROW(pad(x, {5, 5, 4, 4, 3, 3}, PM::Reflect));
  CHECK_ERROR_CONTAINS(
      pad(x, {6, 0, 0, 0, 0, 0}, PM::Reflect), "pad: reflect", "(6, 0)",
      "axis 4", "size 6", "smaller than the padded size");
  CHECK_ERROR_CONTAINS(
      pad(x, {0, 0, 0, 0, 1, 4}, PM::Reflect), "(1, 4)", "axis 2", "size 4");
  // Circular: each amount <= the size.
  CHECK_NOTHROW(pad(x, {6, 6, 5, 5, 4, 4}, PM::Circular));
  CHECK_ERROR_CONTAINS(
      pad(x, {0, 0, 6, 0, 0, 0}, PM::Circular), "circular", "(6, 0)", "axis 3",
      "size 5", "wrap around more than once");
  // Replicate: at least one element on a padded axis.
  CHECK_NOTHROW(pad(x, {9, 9, 9, 9, 9, 9}, PM::Replicate));
  CHECK_ERROR_CONTAINS(
      pad(zeros({1, 2, 0, 3, 3}), {0, 0, 0, 0, 1, 1}, PM::Replicate),
      "replicate", "at least one element", "size 0", "axis 2");
  // Circular with nothing to wrap is fine (as in PyTorch).
  CHECK(
      pad(zeros({1, 2, 0, 3, 3}), {1, 1, 0, 0, 0, 0}, PM::Circular).shape() ==
      Shape{1, 2, 0, 3, 5});
  // Amounts >= 0, 2/4/6 of them, on a tensor with one or two more axes.
  for (PM m : {PM::Reflect, PM::Replicate, PM::Circular}) {
    CAPTURE(std::string(padding_mode_name(m)));
    CHECK_ERROR_CONTAINS(
        pad(x, {1, -1, 0, 0, 0, 0}, m), ">= 0", "(1, -1)", "slice()");
    CHECK_ERROR_CONTAINS(
        pad(x, {1, 1, 1, 1, 1, 1, 1, 1}, m), "2, 4 or 6 amounts", "got 8");
    CHECK_ERROR_CONTAINS(pad(x, {1, 1, 1}, m), "2, 4 or 6 amounts", "got 3");
    CHECK_ERROR_CONTAINS(
        pad(x, {1, 1}, m), "last 1 axes", "2-D or 3-D input",
        "[2, 3, 4, 5, 6]");
    CHECK_ERROR_CONTAINS(
        pad(zeros({4, 5, 6}), {1, 1, 1, 1, 1, 1}, m), "4-D or 5-D input");
    CHECK_ERROR_CONTAINS(
        pad_adjoint(zeros({1, 1, 3, 3, 3}), {2, 2, 0, 0, 0, 0}, m),
        "pad_adjoint", "padded size 3", "smaller than its padding (2, 2)");
    CHECK_ERROR_CONTAINS(pad(Tensor(), {1, 1}, m), "undefined");
  }
  // pad_adjoint: the amounts must fit its result as they fit pad's input.
  CHECK_ERROR_CONTAINS(
      pad_adjoint(zeros({1, 1, 5, 5, 5}), {2, 2, 0, 0, 0, 0}, PM::Reflect),
      "pad_adjoint", "reflect", "of the result", "size 1");
  CHECK(
      pad_adjoint(zeros({1, 1, 5, 5, 7}), {2, 2, 0, 0, 0, 0}, PM::Reflect)
          .shape() == Shape{1, 1, 5, 5, 3});
  CHECK_ERROR_CONTAINS(
      pad_adjoint(zeros({1, 1, 5, 5, 5}), {3, 2, 0, 0, 0, 0}, PM::Circular),
      "circular", "size 0");
  // The mode names (PyTorch's padding_mode strings).
  CHECK(parse_padding_mode("reflect") == PM::Reflect);
  CHECK(std::string(padding_mode_name(kCircular)) == "circular");
  CHECK_ERROR_CONTAINS(
      parse_padding_mode("constant"), "\"zeros\", \"reflect\", \"replicate\"",
      "\"circular\"", "(got \"constant\")");
}

TEST_CASE(
    "pad kernels: 1 and 2 threads give the same bits, and halo slabs fold "
    "like the whole tensor") {
  Generator gen(9);
  kernels::Pad3dGeometry g;
  g.planes = 6;
  g.in = {9, 7, 40};
  g.lo = {2, 3, 5};
  g.hi = {3, 1, 7};
  for (PaddingMode m :
       {PaddingMode::Reflect, PaddingMode::Replicate, PaddingMode::Circular}) {
    CAPTURE(std::string(padding_mode_name(m)));
    g.mode = m;
    const kernels::Int3 o = g.out();
    const Tensor x =
        randn({g.planes, g.in[0], g.in[1], g.in[2]}, kFloat32, &gen);
    const Tensor y = randn({g.planes, o[0], o[1], o[2]}, kFloat32, &gen);
    auto run = [&] {
      Tensor px = empty({g.planes, o[0], o[1], o[2]});
      Tensor aty = empty(x.shape());
      kernels::pad3d<float>(g, x.data<float>(), px.mutable_data<float>());
      kernels::pad3d_adjoint<float>(
          g, y.data<float>(), aty.mutable_data<float>());
      return TensorList{px, aty};
    };
    const TensorList one = test::with_threads(1, run);
    const TensorList two = test::with_threads(2, run);
    CHECK(test::bit_equal(one[0], two[0]));
    CHECK(test::bit_equal(one[1], two[1]));
    // The same padded tensor as interior + six halo slabs (PadHalo's
    // partition): pad3d_adjoint_halo gives the same bits.
    const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
    auto cut = [&](int64_t d0, int64_t d1, int64_t h0, int64_t h1, int64_t w0,
                   int64_t w1) {
      return y.slice(1, d0, d1).slice(2, h0, h1).slice(3, w0, w1).contiguous();
    };
    const Tensor w_lo = cut(0, o[0], 0, o[1], 0, g.lo[2]);
    const Tensor w_hi = cut(0, o[0], 0, o[1], g.lo[2] + W, o[2]);
    const Tensor h_lo = cut(0, o[0], 0, g.lo[1], g.lo[2], g.lo[2] + W);
    const Tensor h_hi = cut(0, o[0], g.lo[1] + H, o[1], g.lo[2], g.lo[2] + W);
    const Tensor d_lo =
        cut(0, g.lo[0], g.lo[1], g.lo[1] + H, g.lo[2], g.lo[2] + W);
    const Tensor d_hi =
        cut(g.lo[0] + D, o[0], g.lo[1], g.lo[1] + H, g.lo[2], g.lo[2] + W);
    Tensor folded =
        cut(g.lo[0], g.lo[0] + D, g.lo[1], g.lo[1] + H, g.lo[2], g.lo[2] + W)
            .clone();
    kernels::PadHalo<float> halo;
    halo.w_lo = w_lo.data<float>();
    halo.w_hi = w_hi.data<float>();
    halo.h_lo = h_lo.data<float>();
    halo.h_hi = h_hi.data<float>();
    halo.d_lo = d_lo.data<float>();
    halo.d_hi = d_hi.data<float>();
    kernels::pad3d_adjoint_halo<float>(g, halo, folded.mutable_data<float>());
    CHECK(test::bit_equal(folded, one[1]));
  }
}

}  // namespace voxgrad
