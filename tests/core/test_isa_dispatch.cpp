// The promises of NOTE [ ISA dispatch ] (voxgrad/core/kernels/isa.hpp), on
// every instruction set this CPU runs: elementwise ops, sums, max-reductions
// and resampling give the same bits on every ISA and for any thread count.
// (matmul's promises are in test_matmul.cpp.)

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "test_util.hpp"
#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/reduce.hpp"

namespace voxgrad {
namespace {

namespace vk = kernels;

std::vector<vk::Isa> available_isas() {
  std::vector<vk::Isa> isas;
  for (vk::Isa isa : {vk::Isa::Generic, vk::Isa::Avx2, vk::Isa::Avx512})
    if (vk::cpu_supports(isa))
      isas.push_back(isa);
  return isas;
}

struct IsaGuard {
  ~IsaGuard() {
    vk::set_isa(vk::Isa::Auto);
  }
};

// Values that exercise every branch: both signs, zeros, tiny, large,
// saturating arguments of exp/tanh/softplus, inf and NaN, and a long random
// stretch (rows of several SIMD widths plus tails).
Tensor edge_values(Dtype dt, int64_t n, uint64_t seed) {
  Generator g(seed);
  Tensor x = uniform({n}, -6.0, 6.0, dt, &g);
  const double special[] = {0.0,   -0.0,  1e-30, -1e-30, 88.0,     -88.0,
                            700.0, -700., 20.0,  20.5,   INFINITY, -INFINITY,
                            NAN,   1.0,   -1.0,  0.5,    3.0,      -3.0};
  dispatch(dt, [&]<class T>() {
    T* p = x.mutable_data<T>();
    for (size_t i = 0; i < std::size(special); ++i)
      p[i * 7] = static_cast<T>(special[i]);
  });
  return x;
}

/// Runs `f` once per ISA and per thread count (1, 2) and checks every
/// result equals the first bit for bit (NaNs aside).
/// Bit equality, except that any two NaNs match: IEEE leaves the sign and
/// payload of a NaN result unspecified, and ISAs differ there.
bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return false;
  const auto va = a.contiguous().to_vector<double>();
  const auto vb = b.contiguous().to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) && std::isnan(vb[i]))
      continue;
    if (std::memcmp(&va[i], &vb[i], sizeof(double)) != 0)
      return false;
  }
  return true;
}

template <class F>
void check_identical_everywhere(const std::string& what, F f) {
  IsaGuard guard;
  Tensor first;
  std::string first_name;
  for (vk::Isa isa : available_isas()) {
    REQUIRE(vk::set_isa(isa));
    for (int threads : {1, 2}) {
      const Tensor got = test::with_threads(threads, f);
      const std::string name =
          std::string(vk::isa_name(isa)) + "/" + std::to_string(threads) + "t";
      if (!first.defined()) {
        first = got;
        first_name = name;
        continue;
      }
      CHECK_MESSAGE(
          same_values(got, first), what, ": ", name, " differs from ",
          first_name);
    }
  }
}

}  // namespace

TEST_CASE_TEMPLATE(
    "elementwise ops give the same bits on every ISA and thread count",
    T,
    float,
    double) {
  const Dtype dt = dtype_of<T>();
  const Tensor x = edge_values(dt, 70001, 1);
  const Tensor y = edge_values(dt, 70001, 2);
  // Strided and broadcast operands take the staged (non-unit) path.
  const Tensor xs = x.slice(0, 0, 70000).reshape({350, 200}).transpose(0, 1);
  const Tensor row = y.slice(0, 0, 350);
  using vk::BinaryOp;
  using vk::ParamOp;
  using vk::UnaryOp;
  for (UnaryOp op :
       {UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Abs,
        UnaryOp::Sign, UnaryOp::Relu, UnaryOp::Sigmoid, UnaryOp::Tanh,
        UnaryOp::Silu, UnaryOp::Square, UnaryOp::Reciprocal, UnaryOp::Floor,
        UnaryOp::Isfinite}) {
    const std::string name = "unary " + std::to_string(static_cast<int>(op));
    check_identical_everywhere(name, [&] { return vk::unary(op, x); });
    check_identical_everywhere(
        name + " strided", [&] { return vk::unary(op, xs); });
  }
  const std::pair<ParamOp, std::pair<double, double>> params[] = {
      {ParamOp::Clamp, {-1.0, 2.0}},    {ParamOp::LeakyRelu, {0.2, 0}},
      {ParamOp::PowScalar, {3.0, 0}},   {ParamOp::PowScalar, {-2.0, 0}},
      {ParamOp::PowScalar, {0.5, 0}},   {ParamOp::PowScalar, {1.7, 0}},
      {ParamOp::Softplus, {1.0, 20.0}}, {ParamOp::Softplus, {2.0, 5.0}},
      {ParamOp::Affine, {0.25, -1.5}},
  };
  for (const auto& entry : params) {  // clang 14: no captured bindings
    const ParamOp op = entry.first;
    const double a = entry.second.first, b = entry.second.second;
    const std::string name = "param " + std::to_string(static_cast<int>(op));
    check_identical_everywhere(name, [&] { return vk::unary(op, x, a, b); });
  }
  for (BinaryOp op :
       {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div,
        BinaryOp::Pow, BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Eq,
        BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge}) {
    const std::string name = "binary " + std::to_string(static_cast<int>(op));
    check_identical_everywhere(name, [&] { return vk::binary(op, x, y); });
    check_identical_everywhere(
        name + " broadcast", [&] { return vk::binary(op, xs, row); });
  }
  check_identical_everywhere(
      "where", [&] { return vk::where(vk::binary(BinaryOp::Gt, x, y), x, y); });
}

TEST_CASE_TEMPLATE(
    "sums and maxima give the same bits on every ISA and thread count",
    T,
    float,
    double) {
  const Dtype dt = dtype_of<T>();
  Generator g(5);
  // Contiguous runs (long and short, with tails), a kept contiguous run
  // (the bias-gradient pattern), strided runs, few outputs (split blocks).
  const Tensor a = uniform({7, 33, 1000}, -1.0, 1.0, dt, &g);
  const Tensor big = uniform({3, 300007}, -1.0, 1.0, dt, &g);
  const std::vector<std::pair<const Tensor*, std::vector<int64_t>>> cases = {
      {&a, {2}}, {&a, {0}},   {&a, {1}},  {&a, {0, 2}}, {&a, {0, 1}},
      {&a, {}},  {&big, {1}}, {&big, {}}, {&big, {0}},
  };
  for (const auto& c : cases) {  // clang 14: no captured bindings
    const Tensor* t = c.first;
    std::vector<int64_t> ax = c.second;
    if (ax.empty())
      for (int64_t i = 0; i < t->dim(); ++i)
        ax.push_back(i);
    const std::string where = shape_str(t->shape()) + " axes " + shape_str(ax);
    check_identical_everywhere(
        "sum " + where, [&] { return vk::reduce(vk::ReduceOp::Sum, *t, ax); });
    check_identical_everywhere(
        "max " + where, [&] { return vk::reduce(vk::ReduceOp::Max, *t, ax); });
    check_identical_everywhere("sum transposed " + where, [&] {
      const Tensor tt = t->transpose(0, t->dim() - 1);
      return vk::reduce(vk::ReduceOp::Sum, tt, ax);
    });
  }
}

TEST_CASE("sums over a kept contiguous run equal the plain double loop") {
  // (N, C) summed over N: each output is added in double in order of n,
  // exactly as a plain loop does, on every ISA.
  IsaGuard guard;
  Generator g(9);
  const Tensor x = uniform({37, 203}, -1.0, 1.0, kFloat32, &g);
  const float* p = x.data<float>();
  std::vector<float> want(203);
  for (int64_t c = 0; c < 203; ++c) {
    double acc = 0;
    for (int64_t n = 0; n < 37; ++n)
      acc += static_cast<double>(p[n * 203 + c]);
    want[static_cast<size_t>(c)] = static_cast<float>(acc);
  }
  for (vk::Isa isa : available_isas()) {
    REQUIRE(vk::set_isa(isa));
    const std::string isa_s = vk::isa_name(isa);
    CAPTURE(isa_s);
    CHECK(sum(x, {0}).to_vector<float>() == want);
  }
}

TEST_CASE("trilinear resampling and its adjoint match on every ISA") {
  Generator g(13);
  const Tensor x = uniform({2, 3, 5, 7, 9}, -1.0, 1.0, kFloat32, &g);
  check_identical_everywhere("trilinear up", [&] {
    return upsample_trilinear3d(x, {11, 13, 19}, false);
  });
  check_identical_everywhere("trilinear down, aligned", [&] {
    return upsample_trilinear3d(x, {3, 4, 5}, true);
  });
  const Tensor gy = uniform({2, 3, 11, 13, 19}, -1.0, 1.0, kFloat32, &g);
  check_identical_everywhere("trilinear adjoint", [&] {
    return upsample_trilinear3d_backward(gy, x.shape(), false);
  });
  check_identical_everywhere("nearest", [&] {
    return upsample_nearest3d(x, {10, 14, 18});
  });
}

TEST_CASE("set_isa refuses what the CPU cannot run and names every ISA") {
  IsaGuard guard;
  CHECK(vk::set_isa(vk::Isa::Generic));
  CHECK(vk::active_isa() == vk::Isa::Generic);
  CHECK(vk::set_isa(vk::Isa::Auto));
  CHECK(vk::active_isa() != vk::Isa::Auto);
  CHECK(std::string(vk::isa_name(vk::Isa::Avx512)) == "avx512");
  if (!vk::cpu_supports(vk::Isa::Avx512)) {
    const vk::Isa before = vk::active_isa();
    CHECK_FALSE(vk::set_isa(vk::Isa::Avx512));
    CHECK(vk::active_isa() == before);
  }
}

}  // namespace voxgrad
