// int64 tensors (indices and labels): factories, conversions both ways,
// comparisons, views and copies, printing, checkpoints, and the rule that
// int64 is never differentiable and never reaches a float kernel.

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad {
namespace {

constexpr int64_t kBig = (int64_t{1} << 53) + 1;  // not exact in a double
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

Tensor ints(const std::vector<int64_t>& v, const Shape& shape) {
  return from_blob(v.data(), shape);
}

}  // namespace

TEST_CASE("int64 factories give exact integers") {
  CHECK(itemsize(kInt64) == 8);
  CHECK(std::string(dtype_name(kInt64)) == "int64");
  CHECK_FALSE(is_floating_point(kInt64));
  CHECK(zeros({2, 3}, kInt64).to_vector<int64_t>() == std::vector<int64_t>(6));
  CHECK(ones({3}, kInt64).to_vector<int64_t>() == std::vector<int64_t>(3, 1));
  CHECK(empty({0, 4}, kInt64).numel() == 0);
  CHECK(
      full({2}, -7, kInt64).to_vector<int64_t>() ==
      std::vector<int64_t>{-7, -7});
  CHECK(
      arange(5, kInt64).to_vector<int64_t>() ==
      std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(
      arange(10.0, 0.0, -3.0, kInt64).to_vector<int64_t>() ==
      std::vector<int64_t>{10, 7, 4, 1});
  CHECK(arange(3.0, 3.0, 1.0, kInt64).numel() == 0);
  CHECK(
      tensor({3, -1, 0}, kInt64).to_vector<int64_t>() ==
      std::vector<int64_t>{3, -1, 0});
  CHECK(tensor({1, 2, 3, 4}, {2, 2}, kInt64).shape() == Shape{2, 2});
  // from_blob keeps values a double cannot hold; item<int64_t> returns them.
  const Tensor big = ints({kBig, kMin, kMax}, {3});
  CHECK(big.to_vector<int64_t>() == std::vector<int64_t>{kBig, kMin, kMax});
  CHECK(big.select(0, 0).item<int64_t>() == kBig);
  CHECK(scalar_tensor(4, kInt64).item() == 4.0);
}

TEST_CASE("int64 factories refuse values that are not whole numbers") {
  CHECK_ERROR_CONTAINS(
      full({2}, 2.5, kInt64), "full", "fill value", "2.5", "whole number");
  CHECK_ERROR_CONTAINS(
      tensor({1.0, 0.5}, kInt64), "tensor", "0.5", "whole number");
  CHECK_ERROR_CONTAINS(
      arange(0.0, 5.0, 1.5, kInt64), "arange", "step", "1.5", "whole number");
  CHECK_ERROR_CONTAINS(arange(0.5, 5.0, 1.0, kInt64), "arange", "start");
  CHECK_ERROR_CONTAINS(
      full({1}, std::nan(""), kInt64), "full", "nan", "whole number");
  CHECK_ERROR_CONTAINS(full({1}, 1e300, kInt64), "full", "int64");
  CHECK_ERROR_CONTAINS(zeros({2}, kInt64).fill_(0.25), "fill_", "0.25");
  CHECK_ERROR_CONTAINS(randint(3, 3, {2}), "randint", "low < high");
  CHECK_ERROR_CONTAINS(
      randn({2}, kInt64), "normal", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(
      rand({2}, kInt64), "uniform", "int64", "float32 or float64");
}

TEST_CASE(
    "randint covers low up to high (excluded), is seeded and thread-count "
    "independent") {
  Generator g(7);
  const Tensor r = randint(-3, 4, {20000}, &g);
  CHECK(r.dtype() == kInt64);
  std::vector<int64_t> count(7);
  for (int64_t v : r.to_vector<int64_t>()) {
    REQUIRE(v >= -3);
    REQUIRE(v < 4);
    ++count[static_cast<size_t>(v + 3)];
  }
  for (int64_t c : count)
    CHECK(std::abs(c - 20000 / 7) < 200);  // ~5 sigma
  Generator a(11), b(11);
  const Tensor x = randint(1000, {5000}, &a);
  const Tensor y =
      test::with_threads(1, [&] { return randint(1000, {5000}, &b); });
  CHECK(test::bit_equal(x, y));
  // The full int64 range is a valid interval (its width overflows int64).
  const Tensor wide = randint(kMin, kMax, {64}, &g);
  CHECK(wide.dtype() == kInt64);
}

TEST_CASE("to(int64) truncates toward zero and refuses NaN, inf, overflow") {
  const Tensor f = tensor({1.7, -1.7, 0.0, -0.0, 2.0, 1e18}, kFloat64);
  CHECK(
      f.to(kInt64).to_vector<int64_t>() ==
      std::vector<int64_t>{1, -1, 0, 0, 2, 1000000000000000000});
  CHECK(
      tensor({2.9f, -3.5f}).to(kInt64).to_vector<int64_t>() ==
      std::vector<int64_t>{2, -3});
  // Back to float: exact where the float can hold the value.
  CHECK(
      ints({-4, 9}, {2}).to(kFloat32).to_vector<float>() ==
      std::vector<float>{-4, 9});
  CHECK(ints({kBig}, {1}).to(kFloat64).item() == 9007199254740992.0);
  // A strided source converts in its logical order.
  CHECK(
      tensor({0.5, 1.5, 2.5, 3.5}, {2, 2}, kFloat64)
          .transpose(0, 1)
          .to(kInt64)
          .to_vector<int64_t>() == std::vector<int64_t>{0, 2, 1, 3});
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_ERROR_CONTAINS(
      tensor({1.0, std::nan(""), inf}, kFloat64).to(kInt64), "to", "element 1",
      "nan", "float64", "no int64 value");
  CHECK_ERROR_CONTAINS(
      tensor({-inf}, kFloat64).to(kInt64), "to", "element 0", "inf");
  CHECK_ERROR_CONTAINS(
      tensor({9.3e18}).to(kInt64), "to", "element 0", "[-2^63, 2^63)");
  // -2^63 itself is representable.
  CHECK(
      tensor({-9223372036854775808.0}, kFloat64).to(kInt64).item<int64_t>() ==
      kMin);
  // copy_ converts the same way and names itself.
  const Tensor dst = zeros({2}, kInt64);
  dst.copy_(tensor({3.9, -0.5}));
  CHECK(dst.to_vector<int64_t>() == std::vector<int64_t>{3, 0});
  CHECK_ERROR_CONTAINS(dst.copy_(tensor({inf, 1.0})), "copy_", "inf");
  CHECK(dst.to_vector<int64_t>() == std::vector<int64_t>{3, 0});  // untouched
  const Tensor fdst = zeros({2}, kFloat64);
  fdst.copy_(ints({5, -6}, {2}));
  CHECK(fdst.to_vector<double>() == std::vector<double>{5, -6});
}

TEST_CASE("int64 views and copies keep the values") {
  const Tensor x = arange(24, kInt64).reshape({2, 3, 4});
  CHECK(x.dtype() == kInt64);
  const Tensor p = x.permute({2, 0, 1}).contiguous();
  CHECK(p.dtype() == kInt64);
  CHECK(p.select(0, 1).select(0, 0).select(0, 2).item<int64_t>() == 9);
  CHECK(
      x.slice(2, 1, 4, 2).flatten().to_vector<int64_t>() ==
      std::vector<int64_t>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(
      cat({ints({kBig}, {1}), ints({kMin}, {1})}).to_vector<int64_t>() ==
      std::vector<int64_t>{kBig, kMin});
  CHECK(
      stack({ints({1, 2}, {2}), ints({3, 4}, {2})}, 1).to_vector<int64_t>() ==
      std::vector<int64_t>{1, 3, 2, 4});
  CHECK(
      pad(ints({1, 2}, {2}), {1, 1}, -1).to_vector<int64_t>() ==
      std::vector<int64_t>{-1, 1, 2, -1});
  CHECK_ERROR_CONTAINS(pad(ints({1}, {1}), {1, 0}, 0.5), "pad", "value");
  CHECK(
      ints({7}, {1}).expand({3}).clone().to_vector<int64_t>() ==
      std::vector<int64_t>(3, 7));
  CHECK_ERROR_CONTAINS(
      cat({ints({1}, {1}), ones({1})}), "cat", "int64", "float32");
}

TEST_CASE("int64 comparisons give int64 masks, where takes them") {
  const Tensor a = ints({1, 5, kBig, -2}, {4});
  const Tensor b = ints({1, 4, kBig - 1, 0}, {4});
  CHECK(eq(a, b).dtype() == kInt64);
  CHECK(eq(a, b).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(ne(a, b).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1, 1});
  CHECK(lt(a, b).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 1});
  CHECK(le(a, b).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(gt(a, b).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1, 0});
  CHECK(ge(a, b).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1, 0});
  // Broadcasting and scalars.
  const Tensor labels = ints({0, 2, 1, 2, 2, 0}, {2, 3});
  CHECK(
      eq(labels, ints({2}, {1})).to_vector<int64_t>() ==
      std::vector<int64_t>{0, 1, 0, 1, 1, 0});
  CHECK(
      gt(labels, 0.0).to_vector<int64_t>() ==
      std::vector<int64_t>{0, 1, 1, 1, 1, 0});
  CHECK_ERROR_CONTAINS(
      lt(labels, 1.5), "lt", "1.5", "compared with an int64 tensor",
      "whole number");
  CHECK_ERROR_CONTAINS(eq(labels, ones({2, 3})), "eq", "int64", "float32");
  // where(): an int64 mask selects like a 0/1 float one.
  const Tensor x = arange(6).reshape({2, 3});
  CHECK(
      where(eq(labels, 2.0), x, zeros({1})).to_vector<float>() ==
      std::vector<float>{0, 1, 0, 3, 4, 0});
}

TEST_CASE("int64 is never differentiable and never reaches a float kernel") {
  CHECK_ERROR_CONTAINS(
      zeros({2}, kInt64).requires_grad_(), "requires_grad_", "int64",
      "float32 and float64");
  zeros({2}, kInt64).requires_grad_(false);  // turning it off is fine
  // A conversion to int64 cuts the graph.
  const Tensor w = randn({3}).requires_grad_();
  const Tensor i = (w * 4.0).to(kInt64);
  CHECK_FALSE(i.requires_grad());
  CHECK(i.grad_fn() == nullptr);
  // Arithmetic names the op and both dtypes.
  const Tensor l = ints({1, 2}, {2});
  CHECK_ERROR_CONTAINS(l + l, "add", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(l * 2.0, "mul", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(2.0 - l, "sub", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(exp(l), "exp", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(l.sum(), "sum", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(matmul(l, l), "matmul", "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(
      nn::functional::mse_loss(l, l), "mse_loss", "int64", "float32");
  // The last line of defence: a float kernel given int64 by a buggy op.
  CHECK_THROWS_AS(
      dispatch(kInt64, []<class T>() { return sizeof(T); }), InternalError);
  CHECK(dispatch_all(kInt64, []<class T>() { return sizeof(T); }) == 8);
}

TEST_CASE("int64 tensors print as integers") {
  std::ostringstream s;
  s << ints({3, -12, 100}, {3});
  CHECK(s.str() == "tensor([  3, -12, 100], dtype=int64, shape=[3])");
  std::ostringstream m;
  m << ints({kMin, 0, 1, kMax}, {2, 2});
  CHECK(
      m.str() ==
      "tensor([[-9223372036854775808,                    0],\n"
      "        [                   1,  9223372036854775807]], dtype=int64, "
      "shape=[2, 2])");
  std::ostringstream big;
  big << zeros({2000}, kInt64);
  CHECK(big.str().find("[0, 0, 0, ..., 0, 0, 0]") != std::string::npos);
}

namespace {
/// A module with an int64 buffer, as a model with class counts would have.
struct WithLabels : nn::Module {
  Tensor weight, counts;
  WithLabels() {
    weight = register_parameter("weight", ones({2}));
    counts = register_buffer("counts", from_blob(&kBig, {1}));
  }
  std::string name() const override {
    return "WithLabels";
  }
};
}  // namespace

TEST_CASE("int64 buffers survive checkpoints and Module::to") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("voxgrad_int64_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* name : {"m.json", "m.cbor"}) {
    CAPTURE(name);
    WithLabels src;
    {
      NoGradGuard g;
      src.counts.copy_(ints({kMin}, {1}));
    }
    save((dir / name).string(), src);
    WithLabels dst;
    load((dir / name).string(), dst);
    CHECK(dst.counts.dtype() == kInt64);
    CHECK(dst.counts.item<int64_t>() == kMin);
  }
  std::filesystem::remove_all(dir);
  // An int64 buffer keeps its dtype when the module changes precision; an
  // int64 module is refused (its parameters could not require grad).
  WithLabels m;
  m.to(kFloat64);
  CHECK(m.weight.dtype() == kFloat64);
  CHECK(m.counts.dtype() == kInt64);
  CHECK(m.counts.item<int64_t>() == kBig);
  CHECK_ERROR_CONTAINS(m.to(kInt64), "Module::to", "int64");
}

}  // namespace voxgrad
