// Conv3d / ConvTranspose3d with padding_mode (docs/padding-modes.md): Conv3d
// against PyTorch 1.13's nn.Conv3d(padding_mode=m), ConvTranspose3d against
// its definition (the vector-Jacobian product of that Conv3d, computed by
// PyTorch: tests/golden/padding_modes.json from tools/gen_padding_golden.py);
// the dot-product identity of the two ops in every mode over the shared
// shape list in float64; each op's backward-data being the other's forward;
// gradcheck and gradgradcheck; every validity rule; options, printing and a
// checkpoint round trip.

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "conv_shapes.hpp"
#include "test_util.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad {
namespace {

using json = nlohmann::json;
using kernels::ConvGeometry3d;

const PaddingMode kPadded[] = {
    PaddingMode::Reflect, PaddingMode::Replicate, PaddingMode::Circular};

const json& golden() {
  static const json doc = [] {
    std::ifstream f(
        std::string(VOXGRAD_TEST_DATA_DIR) + "/golden/padding_modes.json");
    REQUIRE_MESSAGE(f.good(), "cannot open tests/golden/padding_modes.json");
    return json::parse(f);
  }();
  return doc;
}

Tensor from_json(const json& t, Dtype dt) {
  return tensor(
      t.at("data").get<std::vector<double>>(), t.at("shape").get<Shape>(), dt);
}

Int3 triple(const json& v) {
  return Int3(v[0].get<int64_t>(), v[1].get<int64_t>(), v[2].get<int64_t>());
}

double dot(const Tensor& a, const Tensor& b) {
  return (a.to(kFloat64) * b.to(kFloat64)).sum().item();
}

/// PyTorch's 5-D weight in the SPEC layout (6-D when grouped).
Tensor spec_weight(const Tensor& w, int64_t groups) {
  if (groups == 1)
    return w;
  Shape s = w.shape();
  s.insert(s.begin(), groups);
  s[1] /= groups;
  return w.reshape(s);
}

/// Runs one golden case through the module in `dt` and compares y and the
/// gradients of sum(y * gy) with PyTorch's.
void check_golden_case(const json& c, Dtype dt, double tol) {
  const std::string op = c.at("op");
  const PaddingMode mode =
      parse_padding_mode(c.at("padding_mode").get<std::string>());
  const int64_t g = c.at("groups");
  const bool has_bias = c.at("bias");
  std::function<Tensor(const Tensor&)> m;
  Tensor w, b;
  if (op == "conv3d") {
    nn::Conv3dOptions o(
        c.at("in_channels"), c.at("out_channels"), triple(c.at("kernel_size")));
    o.stride(triple(c.at("stride"))).dilation(triple(c.at("dilation")));
    o.groups(g).bias(has_bias).padding_mode(mode);
    if (c.at("padding").is_string())
      o.padding(Conv3dPadding(c.at("padding").get<std::string>()));
    else
      o.padding(triple(c.at("padding")));
    auto conv = std::make_shared<nn::Conv3dImpl>(o);
    conv->to(dt);
    w = conv->weight();
    b = conv->bias();
    m = [conv](const Tensor& in) { return conv->forward(in); };
  } else {
    nn::ConvTranspose3dOptions o(
        c.at("in_channels"), c.at("out_channels"), triple(c.at("kernel_size")));
    o.stride(triple(c.at("stride"))).padding(triple(c.at("padding")));
    o.output_padding(triple(c.at("output_padding")))
        .dilation(triple(c.at("dilation")));
    o.groups(g).bias(has_bias).padding_mode(mode);
    auto convt = std::make_shared<nn::ConvTranspose3dImpl>(o);
    convt->to(dt);
    w = convt->weight();
    b = convt->bias();
    m = [convt](const Tensor& in) { return convt->forward(in); };
  }
  {
    NoGradGuard no_grad;
    Tensor(w).copy_(spec_weight(from_json(c.at("weight"), dt), g));
    if (has_bias)
      Tensor(b).copy_(from_json(c.at("bias_value"), dt).reshape(b.shape()));
  }
  const Tensor x = from_json(c.at("x"), dt).requires_grad_();
  const Tensor y = m(x);
  CHECK(test::allclose(y, from_json(c.at("y"), dt), tol, tol));
  y.backward(from_json(c.at("gy"), dt));
  CHECK(test::allclose(x.grad(), from_json(c.at("gx"), dt), tol, tol));
  CHECK(test::allclose(
      w.grad(), spec_weight(from_json(c.at("gweight"), dt), g), tol, tol));
  if (has_bias)
    CHECK(test::allclose(
        b.grad(), from_json(c.at("gbias"), dt).reshape(b.shape()), tol, tol));
}

/// The functional arguments of the Conv3d a shape-list geometry describes.
struct Args {
  Tensor weight;
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

/// Whether `mode` may pad each axis of `size` by `p` (SPEC §1).
bool fits(
    PaddingMode mode,
    const std::array<int64_t, 3>& size,
    const std::array<int64_t, 3>& p) {
  for (size_t i = 0; i < 3; ++i) {
    if (mode == PaddingMode::Reflect && p[i] >= size[i])
      return false;
    if (mode == PaddingMode::Circular && p[i] > size[i])
      return false;
  }
  return true;
}

std::vector<int64_t> pads_of(const Int3& p) {
  return {p[2], p[2], p[1], p[1], p[0], p[0]};
}

}  // namespace

TEST_CASE(
    "padding modes golden: Conv3d as PyTorch's nn.Conv3d(padding_mode), "
    "ConvTranspose3d as the VJP of it") {
  REQUIRE(golden().at("conv").size() >= 30);
  for (const json& c : golden().at("conv")) {
    CAPTURE(c.at("name").get<std::string>());
    check_golden_case(c, kFloat64, 1e-11);
    check_golden_case(c, kFloat32, 2e-4);
  }
}

TEST_CASE(
    "padding modes: <Conv3d_m x, y> = <x, ConvTranspose3d_m y> over the shape "
    "list, in float64") {
  Generator gen(41);
  for (PaddingMode m :
       {PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Replicate,
        PaddingMode::Circular}) {
    double worst = 0;
    int checked = 0;
    for (const auto& c : test::conv_shapes()) {
      if (c.large)
        continue;
      const ConvGeometry3d& g = c.g;
      if (!fits(m, g.in, g.padding))
        continue;
      CAPTURE(g.str());
      CAPTURE(std::string(padding_mode_name(m)));
      const Args a = args_of(g, gen);
      const Tensor x =
          randn({g.N, g.C_in, g.in[0], g.in[1], g.in[2]}, kFloat64, &gen);
      const Tensor y =
          randn({g.N, g.C_out, g.out[0], g.out[1], g.out[2]}, kFloat64, &gen);
      const Tensor ax =
          conv3d(x, a.weight, {}, a.stride, a.padding, a.dilation, a.groups, m);
      const Tensor aty = conv_transpose3d(
          y, a.weight, {}, a.stride, a.padding, a.output_padding, a.groups,
          a.dilation, {}, m);
      REQUIRE(aty.shape() == x.shape());
      // With output_padding the Conv3d output is longer than y; the
      // transposed op adjoins the conv cut to y's size.
      const Tensor ax_cut =
          ax.slice(2, 0, g.out[0]).slice(3, 0, g.out[1]).slice(4, 0, g.out[2]);
      REQUIRE(ax_cut.shape() == y.shape());
      const double lhs = dot(ax_cut, y), rhs = dot(x, aty);
      const double rel = std::abs(lhs - rhs) / (1 + std::abs(lhs));
      CHECK(rel <= 1e-12);
      worst = std::max(worst, rel);
      // The definitions: Conv3d_m = conv3d(pad_m(x), padding 0) (the same
      // kernels: bit for bit); ConvTranspose3d_m = pad_mᵀ(conv_transpose3d(
      // y, padding 0)) (computed in halo slabs: up to rounding).
      const Tensor ref_ax = conv3d(
          pad(x, pads_of(a.padding), m), a.weight, {}, a.stride, 0, a.dilation,
          a.groups);
      if (m == PaddingMode::Zeros)  // today's op: padding inside the kernel
        CHECK(test::max_abs_diff(ax, ref_ax) <= 1e-12);
      else
        CHECK(test::bit_equal(ax, ref_ax));
      const Tensor ref_aty = pad_adjoint(
          conv_transpose3d(
              y, a.weight, {}, a.stride, 0, a.output_padding, a.groups,
              a.dilation),
          pads_of(a.padding), m);
      const double scale = ref_aty.numel() ? amax(abs(ref_aty)).item() : 0.0;
      CHECK(test::max_abs_diff(aty, ref_aty) <= 1e-12 * (1 + scale));
      ++checked;
    }
    MESSAGE(
        std::string(padding_mode_name(m)),
        ": worst relative |<Ax, y> - <x, A^T y>| = ", worst, " over ", checked,
        " shapes");
    CHECK(checked >= 30);
  }
}

TEST_CASE(
    "padding modes: the identity and both definitions hold on random "
    "geometries, padding up to each mode's limit") {
  // The shape list is hand-picked; this draws geometries at random (sizes
  // down to 1, padding up to the largest the mode allows, strides past the
  // kernel, dilations, groups, output_padding, unbatched inputs), where the
  // halo-slab path of ConvTranspose3d_m meets windows that no tap, one tap
  // or every tap reaches.
  std::mt19937_64 rng(48);
  auto pick = [&rng](int64_t lo, int64_t hi) {  // uniform in [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Generator gen(48);
  for (PaddingMode m : kPadded) {
    CAPTURE(std::string(padding_mode_name(m)));
    double worst = 0;
    int checked = 0;
    while (checked < 120) {
      const int64_t groups = pick(1, 3);
      const int64_t c_in = groups * pick(1, 2), c_out = groups * pick(1, 2);
      const int64_t n = pick(0, 4) == 0 ? 0 : pick(1, 2);  // 0: unbatched
      std::array<int64_t, 3> in{}, k{}, st{}, p{}, d{}, out{}, op{};
      bool valid = true;
      for (size_t i = 0; i < 3; ++i) {
        in[i] = pick(1, 6);
        k[i] = pick(1, 4);
        st[i] = pick(1, 3);
        d[i] = pick(1, 2);
        const int64_t limit = m == PaddingMode::Reflect
                                  ? in[i] - 1
                                  : (m == PaddingMode::Circular ? in[i] : 4);
        p[i] = pick(0, 2) == 0 ? limit : pick(0, limit);
        const int64_t span = in[i] + 2 * p[i] - d[i] * (k[i] - 1);
        out[i] = span >= 1 ? (span - 1) / st[i] + 1 : 0;
        valid = valid && out[i] >= 1;
      }
      if (!valid)
        continue;
      for (size_t i = 0; i < 3; ++i)
        op[i] =
            in[i] - ((out[i] - 1) * st[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1);
      Shape ws{c_out, c_in / groups, k[0], k[1], k[2]};
      if (groups > 1) {
        ws.insert(ws.begin(), groups);
        ws[1] /= groups;
      }
      const Tensor w = randn(ws, kFloat64, &gen);
      Shape xs{c_in, in[0], in[1], in[2]}, ys{c_out, out[0], out[1], out[2]};
      if (n > 0) {
        xs.insert(xs.begin(), n);
        ys.insert(ys.begin(), n);
      }
      const Tensor x = randn(xs, kFloat64, &gen);
      const Tensor y = randn(ys, kFloat64, &gen);
      CAPTURE(shape_str(xs));
      const Int3 K(k[0], k[1], k[2]), S(st[0], st[1], st[2]);
      const Int3 P(p[0], p[1], p[2]), Dl(d[0], d[1], d[2]);
      const Int3 OP(op[0], op[1], op[2]);
      CAPTURE(K.str());
      CAPTURE(S.str());
      CAPTURE(P.str());
      CAPTURE(Dl.str());
      CAPTURE(groups);
      const Tensor ax = conv3d(x, w, {}, S, P, Dl, groups, m);
      const Tensor aty =
          conv_transpose3d(y, w, {}, S, P, OP, groups, Dl, {}, m);
      REQUIRE(ax.shape() == y.shape());
      REQUIRE(aty.shape() == x.shape());
      const double lhs = dot(ax, y), rhs = dot(x, aty);
      const double rel = std::abs(lhs - rhs) / (1 + std::abs(lhs));
      CHECK(rel <= 1e-12);
      worst = std::max(worst, rel);
      CHECK(test::bit_equal(
          ax, conv3d(pad(x, pads_of(P), m), w, {}, S, 0, Dl, groups)));
      const Tensor ref_aty = pad_adjoint(
          conv_transpose3d(y, w, {}, S, 0, OP, groups, Dl), pads_of(P), m);
      const double scale = amax(abs(ref_aty)).item();
      CHECK(test::max_abs_diff(aty, ref_aty) <= 1e-12 * (1 + scale));
      ++checked;
    }
    MESSAGE(
        std::string(padding_mode_name(m)),
        ": worst relative |<Ax, y> - <x, A^T y>| = ", worst, " over ", checked,
        " random geometries");
  }
}

TEST_CASE(
    "padding modes: ConvTranspose3d_m on cubic geometries, where the halo "
    "pieces share one transposed conv per kind, matches its definition and "
    "is thread-count independent") {
  // ConvTranspose3d_m computes the halo of A_0ᵀ u in pieces (faces, edges,
  // corners), stacking the pieces whose transposed convs have one geometry
  // as the conv groups of one call (NOTE [ Conv padding modes ]). On the
  // random geometries above the axes differ, so few pieces share a call;
  // here the kernel, stride, dilation and padding are the same on every
  // axis (and, half the time, the size too), so faces, edges and corners
  // are each stacked, with groups, batches, windows that no tap or only
  // part of a tap reaches, and padding up to each mode's limit.
  std::mt19937_64 rng(49);
  auto pick = [&rng](int64_t lo, int64_t hi) {  // uniform in [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Generator gen(49);
  for (PaddingMode m : kPadded) {
    CAPTURE(std::string(padding_mode_name(m)));
    int checked = 0;
    while (checked < 40) {
      const int64_t groups = pick(1, 2);
      const int64_t c_in = groups * pick(1, 3), c_out = groups * pick(1, 3);
      const int64_t n = pick(1, 2);
      const int64_t k = pick(1, 4), st = pick(1, 3), d = pick(1, 2);
      const bool cube = pick(0, 1) == 0;
      std::array<int64_t, 3> in{}, out{}, op{};
      in[0] = pick(2, 7);
      for (size_t i = 1; i < 3; ++i)
        in[i] = cube ? in[0] : pick(2, 7);
      const int64_t smallest = *std::min_element(in.begin(), in.end());
      const int64_t limit = m == PaddingMode::Reflect
                                ? smallest - 1
                                : (m == PaddingMode::Circular ? smallest : 4);
      const int64_t p = pick(0, 1) == 0 ? limit : pick(1, limit);
      bool valid = true;
      for (size_t i = 0; i < 3; ++i) {
        const int64_t span = in[i] + 2 * p - d * (k - 1);
        out[i] = span >= 1 ? (span - 1) / st + 1 : 0;
        valid = valid && out[i] >= 1;
        op[i] =
            valid ? in[i] - ((out[i] - 1) * st - 2 * p + d * (k - 1) + 1) : 0;
      }
      if (!valid)
        continue;
      Shape ws{c_out, c_in / groups, k, k, k};
      if (groups > 1) {
        ws.insert(ws.begin(), groups);
        ws[1] /= groups;
      }
      const Tensor w = randn(ws, kFloat64, &gen);
      const Tensor y =
          randn({n, c_out, out[0], out[1], out[2]}, kFloat64, &gen);
      const Int3 S(st, st, st), P(p, p, p), Dl(d, d, d);
      const Int3 OP(op[0], op[1], op[2]);
      CAPTURE(shape_str(y.shape()));
      CAPTURE(k);
      CAPTURE(st);
      CAPTURE(p);
      CAPTURE(d);
      CAPTURE(groups);
      const Tensor aty =
          conv_transpose3d(y, w, {}, S, P, OP, groups, Dl, {}, m);
      REQUIRE(aty.shape() == Shape({n, c_in, in[0], in[1], in[2]}));
      const Tensor ref_aty = pad_adjoint(
          conv_transpose3d(y, w, {}, S, 0, OP, groups, Dl), pads_of(P), m);
      const double scale = amax(abs(ref_aty)).item();
      CHECK(test::max_abs_diff(aty, ref_aty) <= 1e-12 * (1 + scale));
      const Tensor yf = y.to(kFloat32), wf = w.to(kFloat32);
      auto run = [&] {
        return conv_transpose3d(yf, wf, {}, S, P, OP, groups, Dl, {}, m);
      };
      CHECK(test::bit_equal(
          test::with_threads(1, run), test::with_threads(2, run)));
      ++checked;
    }
  }
}

TEST_CASE(
    "padding modes: each op's backward-data is the other op's forward, bit "
    "for bit, and double backward runs through both") {
  Generator gen(42);
  for (PaddingMode m : kPadded) {
    CAPTURE(std::string(padding_mode_name(m)));
    const Tensor w = randn({2, 2, 3, 3, 3, 3}, kFloat32, &gen);  // g 2: 6->4
    const Tensor x = randn({2, 6, 7, 6, 5}, kFloat32, &gen).requires_grad_();
    const Tensor y = conv3d(x, w, {}, 2, 1, 1, 2, m);
    const Tensor gy = randn(y.shape(), kFloat32, &gen);
    const Tensor dx = autograd::grad({y}, {x}, {gy})[0];
    const Tensor ct =
        conv_transpose3d(gy, w, {}, 2, 1, Int3(0, 1, 0), 2, 1, {}, m);
    REQUIRE(ct.shape() == x.shape());
    CHECK(test::bit_equal(dx, ct));

    const Tensor u = gy.detach().requires_grad_();
    const Tensor z =
        conv_transpose3d(u, w, {}, 2, 1, Int3(0, 1, 0), 2, 1, {}, m);
    const Tensor gz = randn(z.shape(), kFloat32, &gen);
    const Tensor du = autograd::grad({z}, {u}, {gz})[0];
    CHECK(test::bit_equal(du, conv3d(gz, w, {}, 2, 1, 1, 2, m)));
  }
}

TEST_CASE(
    "padding modes: Conv3d and ConvTranspose3d modules pass gradcheck and "
    "gradgradcheck") {
  Generator gen(43);
  for (PaddingMode m : kPadded) {
    CAPTURE(std::string(padding_mode_name(m)));
    nn::Conv3d conv(
        nn::Conv3dOptions(4, 6, {3, 2, 3})
            .stride({2, 1, 1})
            .padding({1, 0, 2})
            .dilation({1, 2, 1})
            .groups(2)
            .padding_mode(m),
        &gen);
    nn::ConvTranspose3d up(
        nn::ConvTranspose3dOptions(6, 4, {2, 3, 3})
            .stride({2, 1, 2})
            .padding({0, 1, 1})
            .output_padding({1, 0, 1})
            .groups(2)
            .padding_mode(m),
        &gen);
    conv->to(kFloat64);
    up->to(kFloat64);
    const Tensor x = randn({2, 4, 5, 5, 4}, kFloat64, &gen).requires_grad_();
    auto f = [&](const TensorList& in) { return tanh(up(conv(in[0]))); };
    TensorList inputs{
        x, conv->weight(), conv->bias(), up->weight(), up->bias()};
    CHECK(gradcheck(f, inputs));
    CHECK(gradgradcheck(f, inputs));
  }
}

TEST_CASE("padding modes: 1 and 2 threads give bit-identical results") {
  Generator gen(44);
  const Tensor x = randn({3, 8, 9, 10, 11}, kFloat32, &gen);
  const Tensor w = randn({2, 8, 4, 3, 3, 3}, kFloat32, &gen);
  const Tensor b = randn({1, 16, 1, 1, 1}, kFloat32, &gen);
  for (PaddingMode m : kPadded) {
    CAPTURE(std::string(padding_mode_name(m)));
    auto run = [&] {
      const Tensor xl = x.detach().requires_grad_(),
                   wl = w.detach().requires_grad_(),
                   bl = b.detach().requires_grad_();
      const Tensor y = conv3d(xl, wl, bl, {2, 1, 2}, {1, 2, 1}, 1, 2, m);
      const Tensor z = conv_transpose3d(
          y, wl, {}, {2, 1, 2}, {1, 2, 1}, {0, 0, 0}, 2, 1, {}, m);
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
}

TEST_CASE(
    "padding modes: zeros is today's op, and the options, libtorch's "
    "spelling and printing") {
  Generator gen(45);
  const Tensor x = randn({1, 2, 5, 4, 6}, kFloat32, &gen);
  const Tensor w = randn({3, 2, 3, 3, 3}, kFloat32, &gen);
  CHECK(test::bit_equal(
      conv3d(x, w, {}, 1, 1, 1, 1, PaddingMode::Zeros),
      conv3d(x, w, {}, 1, 1)));
  CHECK(test::bit_equal(
      conv_transpose3d(
          x, w.transpose(0, 1).contiguous(), {}, 2, 1, 1, 1, 1, {}, kZeros),
      conv_transpose3d(x, w.transpose(0, 1).contiguous(), {}, 2, 1, 1)));

  nn::Conv3d c(nn::Conv3dOptions(2, 3, 3).padding(1).padding_mode(
      nn::PaddingMode::Circular));
  CHECK(c->options().padding_mode() == nn::kCircular);
  CHECK(nn::Conv3dOptions(2, 3, 3).padding_mode() == nn::kZeros);
  std::ostringstream os;
  os << c;
  CHECK(
      os.str().find("Conv3d(2, 3, kernel_size=(3, 3, 3), padding=(1, 1, 1), "
                    "padding_mode='circular'") == 0);
  nn::ConvTranspose3d t(nn::ConvTranspose3dOptions(2, 3, 3)
                            .stride(2)
                            .padding(1)
                            .output_padding(1)
                            .padding_mode(nn::kReflect));
  CHECK(t->options().padding_mode() == PaddingMode::Reflect);
  os.str("");
  os << t;
  CHECK(
      os.str().find("output_padding=(1, 1, 1), padding_mode='reflect'") !=
      std::string::npos);
  os.str("");
  os << nn::Conv3d(nn::Conv3dOptions(2, 3, 3));
  CHECK(os.str().find("padding_mode") == std::string::npos);
  // The output size does not depend on the mode.
  for (PaddingMode m : kPadded) {
    CHECK(
        t(zeros({1, 2, 4, 5, 3})).shape() ==
        nn::ConvTranspose3d(nn::ConvTranspose3dOptions(2, 3, 3)
                                .stride(2)
                                .padding(1)
                                .output_padding(1)
                                .padding_mode(m))(zeros({1, 2, 4, 5, 3}))
            .shape());
  }
}

TEST_CASE("padding modes: 'same' combines with every mode, as in PyTorch") {
  Generator gen(46);
  const Tensor x = randn({1, 2, 6, 5, 7}, kFloat64, &gen);
  const Tensor w = randn({3, 2, 4, 3, 2}, kFloat64, &gen);  // totals 3, 4, 3
  for (PaddingMode m : kPadded) {
    CAPTURE(std::string(padding_mode_name(m)));
    const Tensor same = conv3d(x, w, {}, 1, "same", {1, 2, 3}, 1, m);
    CHECK(same.shape() == Shape{1, 3, 6, 5, 7});
    // PyTorch: left = total / 2, the rest after, all in the mode.
    const Tensor manual =
        conv3d(pad(x, {1, 2, 2, 2, 1, 2}, m), w, {}, 1, 0, {1, 2, 3});
    CHECK(test::bit_equal(same, manual));
    // Symmetric 'same' (odd kernels) runs the mode's own path.
    const Tensor w3 = randn({3, 2, 3, 3, 3}, kFloat64, &gen);
    CHECK(test::bit_equal(
        conv3d(x, w3, {}, 1, "same", 1, 1, m),
        conv3d(x, w3, {}, 1, 1, 1, 1, m)));
    // Its gradient is the adjoint's.
    CHECK(gradcheck(
        [&](const TensorList& in) {
          return conv3d(in[0], w, {}, 1, "same", {1, 2, 3}, 1, m);
        },
        {x.detach().requires_grad_()}));
  }
  CHECK_ERROR_CONTAINS(
      conv3d(x.slice(2, 0, 1), w, {}, 1, "same", {1, 2, 3}, 1, kReflect),
      "conv3d", "reflect", "(1, 2)", "size 1", "depth of the input");
}

TEST_CASE("padding modes: every validity rule raises an error naming it") {
  const Tensor w = zeros({2, 2, 3, 3, 3});
  // Conv3d: the input is padded. Reflect: padding < size.
  CHECK_NOTHROW(
      conv3d(zeros({1, 2, 3, 4, 5}), w, {}, 1, {2, 3, 4}, 1, 1, kReflect));
  CHECK_ERROR_CONTAINS(
      conv3d(zeros({1, 2, 3, 4, 5}), w, {}, 1, {2, 4, 1}, 1, 1, kReflect),
      "conv3d", "reflect padding must be smaller", "(4, 4)", "size 4",
      "height of the input", "(3, 4, 5)", "padding_mode=\"reflect\"");
  // Circular: padding <= size.
  CHECK_NOTHROW(
      conv3d(zeros({2, 3, 4, 5}), w, {}, 1, {3, 4, 5}, 1, 1, kCircular));
  CHECK_ERROR_CONTAINS(
      conv3d(zeros({2, 3, 4, 5}), w, {}, 1, {3, 4, 6}, 1, 1, kCircular),
      "conv3d", "circular", "at most", "(6, 6)", "size 5",
      "width of the input");
  // Replicate: any amount.
  CHECK_NOTHROW(conv3d(zeros({2, 1, 1, 1}), w, {}, 1, 7, 1, 1, kReplicate));
  // ConvTranspose3d: its output is the padded tensor. With stride 1 and a
  // (3, 3, 3) input its size is 2 - 2p + kernel per axis.
  const Tensor u = zeros({1, 2, 3, 3, 3});
  const Tensor wt = zeros({2, 2, 13, 11, 11});
  // Kernel 11, padding 4: size 5, reflect allows up to 4.
  CHECK(
      conv_transpose3d(u, wt.slice(2, 0, 11), {}, 1, 4, 0, 1, 1, {}, kReflect)
          .shape() == Shape{1, 2, 5, 5, 5});
  // Kernel 13, padding 5: depth 5; reflect needs padding < 5, circular <= 5.
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, wt, {}, 1, {5, 4, 4}, 0, 1, 1, {}, kReflect),
      "conv_transpose3d", "reflect", "(5, 5)", "size 5", "depth of the output");
  CHECK_NOTHROW(
      conv_transpose3d(u, wt, {}, 1, {5, 4, 4}, 0, 1, 1, {}, kCircular));
  // Padding 6: depth 3 < 6.
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, wt, {}, 1, {6, 4, 4}, 0, 1, 1, {}, kCircular),
      "conv_transpose3d", "circular", "(6, 6)", "size 3",
      "depth of the output");
  // Through the module; a requested output_size is checked the same way.
  nn::ConvTranspose3d up(
      nn::ConvTranspose3dOptions(2, 2, 3).stride(2).padding(2).padding_mode(
          kReflect));
  CHECK(up(zeros({1, 2, 3, 3, 3})).shape() == Shape{1, 2, 3, 3, 3});
  CHECK_ERROR_CONTAINS(
      up(zeros({1, 2, 2, 3, 3})), "reflect", "size 1", "(2, 2)");
  CHECK_ERROR_CONTAINS(
      up(zeros({1, 2, 2, 3, 3}), std::vector<int64_t>{2, 3, 3}), "reflect",
      "size 2", "(2, 2)");
  // Unknown mode names.
  CHECK_ERROR_CONTAINS(
      parse_padding_mode("mirror"), "padding_mode", "\"zeros\"", "\"reflect\"",
      "\"replicate\"", "\"circular\"", "\"mirror\"");
}

TEST_CASE(
    "padding modes: a checkpoint holds weights, the mode is the module's code "
    "(as in PyTorch)") {
  Generator gen(47);
  auto make = [&] {
    return std::make_shared<nn::Conv3dImpl>(
        nn::Conv3dOptions(2, 3, 3).padding(1).padding_mode(kCircular), &gen);
  };
  auto a = make(), b = make();
  // state_dict names are PyTorch's (no mode entry), so checkpoints stay
  // interchangeable with torch's.
  std::vector<std::string> names;
  for (const auto& [name, t] : a->named_parameters())
    names.push_back(name);
  CHECK(names == std::vector<std::string>{"weight", "bias"});
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("voxgrad_padmodes_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "circular.json").string();
  save(path, *a);
  load(path, *b);
  const Tensor x = randn({1, 2, 4, 4, 4}, kFloat32, &gen);
  CHECK(test::bit_equal(a->forward(x), b->forward(x)));
  std::filesystem::remove_all(dir);
}

}  // namespace voxgrad
