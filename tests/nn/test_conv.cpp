// Conv3d / ConvTranspose3d through the public API: the adjoint identities in
// float64 over the shared shape list, "backward-data is the other op's
// forward" bit for bit, gradchecks of both modules (first and second order),
// thread-count determinism, and every validation rule of SPEC §1.

#include <sstream>

#include "conv_shapes.hpp"
#include "test_util.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad {
namespace {

using kernels::ConvGeometry3d;

double dot(const Tensor& a, const Tensor& b) {
  return (a.to(kFloat64) * b.to(kFloat64)).sum().item();
}

/// The (functional) arguments of the Conv3d that a geometry describes.
struct Args {
  Tensor weight;  // SPEC layout: 5-D, or 6-D when grouped
  Int3 stride{1}, padding{0}, dilation{1}, output_padding{0};
  int64_t groups = 1;
};

Args args_of(const ConvGeometry3d& g, Generator& gen) {
  Args a;
  Shape ws{g.C_out, g.C_in / g.groups, g.kernel[0], g.kernel[1], g.kernel[2]};
  if (g.groups > 1) {
    ws.insert(ws.begin(), g.groups);
    ws[1] /= g.groups;
  }
  a.weight = randn(ws, kFloat64, &gen);
  a.stride = Int3(g.stride[0], g.stride[1], g.stride[2]);
  a.padding = Int3(g.padding[0], g.padding[1], g.padding[2]);
  a.dilation = Int3(g.dilation[0], g.dilation[1], g.dilation[2]);
  a.groups = g.groups;
  std::array<int64_t, 3> op{};
  for (size_t i = 0; i < 3; ++i) {
    op[i] = g.in[i] - ((g.out[i] - 1) * g.stride[i] - 2 * g.padding[i] +
                       g.dilation[i] * (g.kernel[i] - 1) + 1);
  }
  a.output_padding = Int3(op[0], op[1], op[2]);
  return a;
}

}  // namespace

TEST_CASE(
    "adjointness: <conv3d(x, W), y> = <x, conv_transpose3d(y, W)> over the "
    "shape list") {
  Generator gen(31);
  int checked = 0;
  for (const auto& c : test::conv_shapes()) {
    if (c.large)
      continue;
    const ConvGeometry3d& g = c.g;
    CAPTURE(g.str());
    const Args a = args_of(g, gen);
    const Tensor x =
        randn({g.N, g.C_in, g.in[0], g.in[1], g.in[2]}, kFloat64, &gen);
    const Tensor y =
        randn({g.N, g.C_out, g.out[0], g.out[1], g.out[2]}, kFloat64, &gen);
    // The conv3d output may be longer than g.out when the geometry carries
    // an output_padding; compare on the conv3d the transposed op adjoins.
    const Tensor ax =
        conv3d(x, a.weight, {}, a.stride, a.padding, a.dilation, a.groups);
    const Tensor aty = conv_transpose3d(
        y, a.weight, {}, a.stride, a.padding, a.output_padding, a.groups,
        a.dilation);
    REQUIRE(aty.shape() == x.shape());
    const Tensor ax_cut =
        ax.slice(2, 0, g.out[0]).slice(3, 0, g.out[1]).slice(4, 0, g.out[2]);
    REQUIRE(ax_cut.shape() == y.shape());
    const double lhs = dot(ax_cut, y), rhs = dot(x, aty);
    CHECK(std::abs(lhs - rhs) <= 1e-12 * (1 + std::abs(lhs)));
    ++checked;
  }
  CHECK(checked >= 20);
}

TEST_CASE("backward-data of each op is the other op's forward, bit for bit") {
  Generator gen(5);
  const Tensor w = randn({2, 2, 3, 3, 3, 3}, kFloat32, &gen);  // groups 2: 6->4
  const Tensor x = randn({2, 6, 7, 6, 5}, kFloat32, &gen).requires_grad_();
  const Tensor y = conv3d(x, w, {}, 2, 1, 1, 2);
  const Tensor gy = randn(y.shape(), kFloat32, &gen);
  const Tensor dx = autograd::grad({y}, {x}, {gy})[0];
  // y is (4, 3, 3) from (7, 6, 5): only the height needs output_padding 1.
  const Tensor ct = conv_transpose3d(gy, w, {}, 2, 1, Int3(0, 1, 0), 2, 1);
  REQUIRE(ct.shape() == x.shape());
  CHECK(test::bit_equal(dx, ct));

  const Tensor u = gy.detach().requires_grad_();
  const Tensor z = conv_transpose3d(u, w, {}, 2, 1, Int3(0, 1, 0), 2, 1);
  const Tensor gz = randn(z.shape(), kFloat32, &gen);
  const Tensor du = autograd::grad({z}, {u}, {gz})[0];
  CHECK(test::bit_equal(du, conv3d(gz, w, {}, 2, 1, 1, 2)));
}

TEST_CASE(
    "Conv3d and ConvTranspose3d modules pass gradcheck and gradgradcheck") {
  Generator gen(8);
  nn::Conv3d conv(
      nn::Conv3dOptions(4, 6, {3, 2, 3})
          .stride({2, 1, 1})
          .padding({1, 0, 2})
          .dilation({1, 2, 1})
          .groups(2),
      &gen);
  nn::ConvTranspose3d up(
      nn::ConvTranspose3dOptions(6, 4, {2, 3, 3})
          .stride({2, 1, 2})
          .padding({0, 1, 1})
          .output_padding({1, 0, 1})
          .groups(2),
      &gen);
  conv->to(kFloat64);
  up->to(kFloat64);
  const Tensor x = randn({2, 4, 5, 5, 4}, kFloat64, &gen).requires_grad_();
  auto f = [&](const TensorList& in) {
    return tanh(up->forward(conv->forward(in[0])));
  };
  TensorList inputs{x, conv->weight(), conv->bias(), up->weight(), up->bias()};
  CHECK(gradcheck(f, inputs));
  CHECK(gradgradcheck(f, inputs));
}

TEST_CASE(
    "the gradient of ||grad_x f||^2 flows through both conv ops (gradient "
    "penalty)") {
  Generator gen(9);
  nn::Conv3d conv(nn::Conv3dOptions(2, 3, 3).padding(1), &gen);
  conv->to(kFloat64);
  const Tensor x = randn({1, 2, 4, 4, 4}, kFloat64, &gen).requires_grad_();
  auto penalty = [&](const TensorList& in) {
    const Tensor out = softplus(conv->forward(in[0])).sum();
    const Tensor gx = autograd::grad({out}, {in[0]}, {}, true)[0];
    return (gx * gx).sum();
  };
  CHECK(gradcheck(penalty, {x, conv->weight(), conv->bias()}));
}

TEST_CASE("1 and 2 threads give bit-identical outputs and gradients") {
  Generator gen(12);
  const Tensor x = randn({3, 8, 9, 10, 11}, kFloat32, &gen);
  const Tensor w = randn({2, 8, 4, 3, 3, 3}, kFloat32, &gen);
  const Tensor b = randn({1, 16, 1, 1, 1}, kFloat32, &gen);
  auto run = [&] {
    const Tensor xl = x.detach().requires_grad_(),
                 wl = w.detach().requires_grad_(),
                 bl = b.detach().requires_grad_();
    const Tensor y = conv3d(xl, wl, bl, {2, 1, 2}, 1, {1, 2, 1}, 2);
    const Tensor z =
        conv_transpose3d(y, wl, {}, {2, 1, 2}, 1, {0, 0, 0}, 2, {1, 2, 1});
    (z * z).sum().backward();
    return TensorList{y, z, xl.grad(), wl.grad(), bl.grad()};
  };
  const TensorList one = test::with_threads(1, run),
                   two = test::with_threads(2, run);
  for (size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(test::bit_equal(one[i], two[i]));
  }
}

TEST_CASE("the seed example: ConvTranspose3d(3, 64, 3).stride(2).padding(1)") {
  nn::ConvTranspose3d up(
      nn::ConvTranspose3dOptions(3, 64, 3).stride(2).padding(1));
  CHECK(up->weight().shape() == Shape{3, 64, 3, 3, 3});
  CHECK(up->bias().shape() == Shape{1, 64, 1, 1, 1});
  CHECK(
      up->forward(zeros({0, 3, 32, 32, 32})).shape() ==
      Shape{0, 64, 63, 63, 63});
  CHECK(
      up->forward(zeros({1, 3, 32, 32, 32})).shape() ==
      Shape{1, 64, 63, 63, 63});
  CHECK(up->forward(zeros({3, 32, 32, 32})).shape() == Shape{64, 63, 63, 63});
  CHECK(
      up->forward(zeros({1, 3, 32, 32, 32}), {64, 64, 64}).shape() ==
      Shape{1, 64, 64, 64, 64});
  CHECK_ERROR_CONTAINS(
      up->forward(zeros({1, 3, 32, 32, 32}), {65, 64, 64}),
      "output_size (65, 64, 64)", "from (63, 63, 63) to (64, 64, 64)");
  std::ostringstream os;
  os << up;
  CHECK(
      os.str().find("ConvTranspose3d(3, 64, kernel_size=(3, 3, 3), stride=(2, "
                    "2, 2), padding=(1, 1, 1)") == 0);
}

TEST_CASE(
    "an empty batch is valid: empty output, zero weight and bias gradients") {
  nn::Conv3d conv(nn::Conv3dOptions(2, 3, 3));
  const Tensor y = conv->forward(zeros({0, 2, 5, 5, 5}));
  CHECK(y.shape() == Shape{0, 3, 3, 3, 3});
  y.sum().backward();
  CHECK(conv->weight().grad().shape() == conv->weight().shape());
  CHECK(amax(abs(conv->weight().grad())).item() == 0.0);
  CHECK(amax(abs(conv->bias().grad())).item() == 0.0);
}

TEST_CASE(
    "padding=\"same\" keeps the size (odd total padding goes after the data)") {
  Generator gen(2);
  const Tensor x = randn({1, 2, 6, 5, 7}, kFloat64, &gen);
  const Tensor w =
      randn({3, 2, 4, 3, 2}, kFloat64, &gen);  // even kernels: asymmetric
  const Tensor same = conv3d(x, w, {}, 1, "same", {1, 2, 3});
  CHECK(same.shape() == Shape{1, 3, 6, 5, 7});
  // PyTorch: total = dil*(k-1) = (3, 4, 3); left = total/2, the rest after.
  const Tensor manual =
      conv3d(pad(x, {1, 2, 2, 2, 1, 2}), w, {}, 1, 0, {1, 2, 3});
  CHECK(test::max_abs_diff(same, manual) < 1e-12);
  CHECK(test::bit_equal(conv3d(x, w, {}, 1, "valid"), conv3d(x, w)));
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, 2, "same"), "same", "stride 1");
  CHECK_ERROR_CONTAINS(
      nn::Conv3d(nn::Conv3dOptions(2, 3, 3).stride(2).padding("same")), "same",
      "stride 1");
  CHECK_ERROR_CONTAINS(
      conv3d(x, w, {}, 1, std::string("full")), "\"same\" or \"valid\"",
      "full");
}

TEST_CASE(
    "default init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with PyTorch's fans") {
  Generator gen(3);
  nn::Conv3d conv(nn::Conv3dOptions(8, 16, 3).groups(2), &gen);
  CHECK(conv->weight().shape() == Shape{2, 8, 4, 3, 3, 3});
  const double b = 1 / std::sqrt(4.0 * 27);
  CHECK(amax(abs(conv->weight())).item() <= b);
  CHECK(amax(abs(conv->weight())).item() > 0.95 * b);
  CHECK(amax(abs(conv->bias())).item() <= b);
  nn::ConvTranspose3d up(nn::ConvTranspose3dOptions(8, 6, 2).groups(2), &gen);
  CHECK(up->weight().shape() == Shape{2, 4, 3, 2, 2, 2});
  const double bt = 1 / std::sqrt(3.0 * 8);
  CHECK(amax(abs(up->weight())).item() <= bt);
  CHECK(amax(abs(up->weight())).item() > 0.9 * bt);
}

TEST_CASE(
    "every SPEC validation rule raises an error naming the argument and "
    "value") {
  using nn::Conv3dOptions;
  using nn::ConvTranspose3dOptions;
  auto conv = [](Conv3dOptions o) { return nn::Conv3d(o); };
  auto convt = [](ConvTranspose3dOptions o) { return nn::ConvTranspose3d(o); };
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(0, 4, 3)), "in_channels", "0", ">= 1");
  CHECK_ERROR_CONTAINS(conv(Conv3dOptions(2, 0, 3)), "out_channels", "0");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(2, 4, {3, 0, 3})), "kernel_size", "(3, 0, 3)");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(2, 4, 3).stride({1, 0, 1})), "stride", "(1, 0, 1)");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(2, 4, 3).dilation(0)), "dilation", ">= 1");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(2, 4, 3).padding(-1)), "padding", "(-1, -1, -1)",
      ">= 0");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(2, 4, 3).groups(0)), "groups", ">= 1");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(3, 4, 3).groups(2)), "groups (2)", "in_channels (3)");
  CHECK_ERROR_CONTAINS(
      conv(Conv3dOptions(4, 6, 3).groups(4)), "groups (4)", "out_channels (6)");
  CHECK_ERROR_CONTAINS(
      convt(ConvTranspose3dOptions(2, 4, 3).output_padding(-1)),
      "output_padding", ">= 0");
  CHECK_ERROR_CONTAINS(
      convt(ConvTranspose3dOptions(2, 4, 3).stride(2).output_padding(2)),
      "output_padding", "max(stride, dilation)", "(2, 2, 2)");
  CHECK_NOTHROW(
      convt(ConvTranspose3dOptions(2, 4, 3).dilation(2).output_padding(1)));

  nn::Conv3d c(Conv3dOptions(2, 4, 3));
  CHECK_ERROR_CONTAINS(
      c->forward(zeros({2, 5, 5, 5, 5, 1})), "conv3d", "5-D", "4-D",
      "[2, 5, 5, 5, 5, 1]");
  CHECK_ERROR_CONTAINS(
      c->forward(zeros({1, 3, 5, 5, 5})), "input.shape[1] (3)", "groups");
  CHECK_ERROR_CONTAINS(
      c->forward(zeros({1, 2, 2, 5, 5})), "output spatial size", "(0, 3, 3)",
      ">= 1");
  CHECK_ERROR_CONTAINS(
      c->forward(zeros({1, 2, 5, 5, 5}, kFloat64)), "float64", "float32");
  CHECK_ERROR_CONTAINS(
      c->set_weight(zeros({4, 2, 3, 3})), "weight", "[4, 2, 3, 3, 3]",
      "[4, 2, 3, 3]");
  CHECK_ERROR_CONTAINS(
      c->set_bias(zeros({4})), "bias", "[1, 4, 1, 1, 1]", "[4]");
  nn::ConvTranspose3d t(ConvTranspose3dOptions(2, 4, 3).padding(2));
  CHECK_ERROR_CONTAINS(
      t->forward(zeros({1, 2, 1, 1, 1})), "conv_transpose3d",
      "output spatial size", "(-1, -1, -1)");
  CHECK_ERROR_CONTAINS(
      t->forward(zeros({1, 4, 3, 3, 3})), "input.shape[1] (4)", "C_in (2)");

  const Tensor x = zeros({1, 4, 5, 5, 5});
  CHECK_ERROR_CONTAINS(
      conv3d(x, zeros({4, 2, 3, 3, 3}), {}, 1, 0, 1, 2), "6-D", "groups = 2",
      "w.reshape([2, 2, 2, 3, 3, 3])");
  CHECK_ERROR_CONTAINS(
      conv3d(x, zeros({3, 2, 2, 3, 3, 3}), {}, 1, 0, 1, 2), "weight.shape[0]",
      "groups");
  CHECK_ERROR_CONTAINS(
      conv3d(x, zeros({6, 4, 3, 3, 3}), zeros({6})), "bias", "[1, 6, 1, 1, 1]",
      "reshape({1, -1, 1, 1, 1})");
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(x, zeros({4, 2, 3, 3, 3}), {}, 1, 0, 0, 1, 1, {1, 2}),
      "output_size", "3 spatial sizes");
}

}  // namespace voxgrad
