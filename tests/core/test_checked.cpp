// Size arithmetic never wraps (issue 10, class 1): every extent, element
// count, stride, byte count, conv geometry and double that becomes a size
// goes through voxgrad/core/checked.hpp, and a size that does not fit is a
// voxgrad::Error naming the op and the values, never UB, a crash, a hang or
// a tensor smaller than its shape.

#include <limits>

#include "test_util.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/kernels/conv_geometry.hpp"

namespace voxgrad {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

/// Shapes whose element count (or byte count) cannot exist.
std::vector<Shape> impossible_shapes() {
  return {
      {int64_t{1} << 62},
      {int64_t{1} << 61, 4},
      {kMax},
      {kMax, 2},
      {int64_t{1} << 31, int64_t{1} << 31, 4},
      {3, 6148914691236517206},  // 3 * this wraps to 2 (mod 2^64)
      {int64_t{1} << 32, int64_t{1} << 32},
      {2, 2, 2, 2, int64_t{1} << 60},
      {int64_t{1} << 40, 1, 1, int64_t{1} << 30},
  };
}

}  // namespace

TEST_CASE("checked::mul/add/sub detect int64 overflow") {
  CHECK(
      checked::mul(int64_t{1} << 31, int64_t{1} << 31, "t", "x") == int64_t{1}
                                                                        << 62);
  CHECK(checked::add(kMax - 1, 1, "t", "x") == kMax);
  CHECK(checked::sub(kMin + 1, 1, "t", "x") == kMin);
  CHECK_ERROR_CONTAINS(
      checked::mul(kMax, 2, "op", "what"), "op: what", "overflows int64");
  CHECK_ERROR_CONTAINS(
      checked::mul(int64_t{1} << 32, int64_t{1} << 31, "o", "w"),
      "4294967296 * 2147483648");
  CHECK_ERROR_CONTAINS(checked::mul(kMin, -1, "o", "w"), "overflows");
  CHECK_ERROR_CONTAINS(checked::add(kMax, 1, "o", "w"), "overflows");
  CHECK_ERROR_CONTAINS(checked::add(kMin, -1, "o", "w"), "overflows");
  CHECK_ERROR_CONTAINS(checked::sub(kMin, 1, "o", "w"), "overflows");
  CHECK_ERROR_CONTAINS(checked::sub(0, kMin, "o", "w"), "overflows");
  CHECK(checked::ceil_div(kMax, 1) == kMax);
  CHECK(checked::ceil_div(kMax, kMax) == 1);
  CHECK(checked::ceil_div(10, kMax) == 1);
  CHECK(checked::ceil_div(0, 7) == 0);
  CHECK(checked::ceil_div(kMax - 1, 2) == (kMax - 1) / 2);
}

TEST_CASE("checked::to_int64 refuses NaN, inf and out-of-range doubles") {
  CHECK(checked::to_int64(3.9, "o", "w") == 3);
  CHECK(checked::to_int64(-3.9, "o", "w") == -3);
  CHECK(checked::to_int64(9.2e18, "o", "w") == int64_t{9200000000000000000});
  for (double bad : std::initializer_list<double>{
           std::nan(""), INFINITY, -INFINITY, 1e19, -1e19,
           9223372036854775808.0, 1e300, -1e300}) {
    CAPTURE(bad);
    CHECK_ERROR_CONTAINS(
        checked::to_int64(bad, "op", "length"), "op: length", "int64");
  }
}

TEST_CASE("numel and strides of huge shapes are errors, not wrapped values") {
  for (const Shape& s : impossible_shapes()) {
    CAPTURE(shape_str(s));
    if (s.size() == 1) {  // the count fits; only its bytes cannot exist
      CHECK(numel(s) == s[0]);
      continue;
    }
    CHECK_ERROR_CONTAINS(numel(s), "elements");
    CHECK_ERROR_CONTAINS(contiguous_strides(s), "elements");
  }
  // A zero extent makes any other extents valid: the tensor is empty.
  CHECK(numel({0, int64_t{1} << 62, int64_t{1} << 62}) == 0);
  CHECK(
      contiguous_strides({0, int64_t{1} << 62, int64_t{1} << 62}).size() == 3);
  CHECK(numel({int64_t{1} << 62, 0}) == 0);
  CHECK_ERROR_CONTAINS(numel({2, -1}), "extents must be >= 0", "-1");
  CHECK_ERROR_CONTAINS(numel({kMin}), "extents must be >= 0");
}

TEST_CASE("factories refuse shapes whose bytes cannot exist") {
  for (const Shape& s : impossible_shapes()) {
    for (Dtype dt : {kFloat32, kFloat64}) {
      CAPTURE(shape_str(s));
      CHECK_ERROR_CONTAINS(empty(s, dt), "empty");
      CHECK_ERROR_CONTAINS(zeros(s, dt), "empty");
      CHECK_ERROR_CONTAINS(ones(s, dt), "empty");
      CHECK_ERROR_CONTAINS(full(s, 2.0, dt), "empty");
      CHECK_ERROR_CONTAINS(rand(s, dt), "empty");
      CHECK_ERROR_CONTAINS(randn(s, dt), "empty");
      CHECK_ERROR_CONTAINS(uniform(s, 0, 1, dt), "empty");
      CHECK_ERROR_CONTAINS(normal(s, 0, 1, dt), "empty");
    }
  }
  // 2^62 float32 elements: 2^64 bytes, which wrapped to a 0-byte buffer.
  CHECK_ERROR_CONTAINS(
      zeros({int64_t{1} << 62}), "4611686018427387904 elements of 4 bytes",
      "exceed");
  // Big but representable: an honest out-of-memory error with the real size.
  CHECK_ERROR_CONTAINS(
      empty({int64_t{1} << 60}),
      "out of memory allocating 4611686018427387904");
  CHECK(zeros({0, kMax}).numel() == 0);
  // Storage is public: its byte count must not wrap when rounded up.
  CHECK_ERROR_CONTAINS(Storage(SIZE_MAX), "allocate", "exceed");
  CHECK_ERROR_CONTAINS(Storage(checked::kMaxBytes + 1), "allocate", "exceed");
}

TEST_CASE("views and copies of huge shapes never wrap") {
  const Tensor x = ones({4});
  // (2^62 + 1) * 4 wraps to 4: the reshape was accepted.
  CHECK_ERROR_CONTAINS(x.reshape({(int64_t{1} << 62) + 1, 4}), "reshape");
  CHECK_ERROR_CONTAINS(x.reshape({-1, int64_t{1} << 62, 4}), "reshape");
  CHECK_ERROR_CONTAINS(x.reshape({kMax, kMax}), "reshape");
  CHECK_ERROR_CONTAINS(x.view({2, 6148914691236517206}), "view");
  // expand is a view, but its element count must still exist; materialising
  // a big one is an allocation error, not a segfault.
  const Tensor one = ones({1});
  CHECK_ERROR_CONTAINS(one.expand({kMax, 2}), "expand");
  CHECK_ERROR_CONTAINS(one.expand({int64_t{1} << 62}).contiguous(), "exceed");
  CHECK_ERROR_CONTAINS(one.expand({int64_t{1} << 61}).clone(), "exceed");
  CHECK_ERROR_CONTAINS(one.expand({int64_t{1} << 61}).to(kFloat64), "exceed");
  CHECK_ERROR_CONTAINS(pad(one, {kMax, 1}), "pad");
  CHECK_ERROR_CONTAINS(pad(one, {kMax - 1, 1}), "pad");
  CHECK_ERROR_CONTAINS(pad(one, {int64_t{1} << 62, 0}), "exceed");
  CHECK_ERROR_CONTAINS(pad(one, {kMin, kMin}), "pad");
  CHECK_ERROR_CONTAINS(
      cat({one.expand({kMax - 1}), ones({2})}), "cat", "overflows");
}

TEST_CASE("slice with extreme start, end and step") {
  const Tensor x = arange(10);
  // ceil((10 - 0) / INT64_MAX) = 1: the wrapped (end - start + step - 1)
  // gave shape [0].
  CHECK(x.slice(0, 0, 10, kMax).shape() == Shape{1});
  CHECK(x.slice(0, 0, 10, kMax).item() == 0);
  CHECK(x.slice(0, 3, kMax, kMax).item() == 3);
  CHECK(x.slice(0, kMin, kMax).numel() == 10);
  CHECK(x.slice(0, kMax, kMin).numel() == 0);
  CHECK(x.slice(0, -kMax, 5, 2).shape() == Shape{3});
  CHECK(x.slice(0, 1, 10, (int64_t{1} << 62) + 1).shape() == Shape{1});
  CHECK(x.slice(0, 0, 10, 9).shape() == Shape{2});
  CHECK(x.slice(0, 0, 10, 9).to_vector<float>() == std::vector<float>{0, 9});
  CHECK_ERROR_CONTAINS(x.slice(0, 0, 10, 0), "step must be > 0");
  CHECK_ERROR_CONTAINS(x.slice(0, 0, 10, kMin), "step must be > 0");
  // A big step on a strided view: stride * step must fit or not be needed.
  const Tensor m = zeros({4, 6}).transpose(0, 1);  // strides [1, 6]
  CHECK(m.slice(1, 0, 4, kMax / 2).shape() == Shape{6, 1});
  const Tensor s = zeros({4, 3}).slice(0, 0, 4, 3);  // strides [9, 1]
  CHECK(s.slice(0, 0, 2, kMax).shape() == Shape{1, 3});
}

TEST_CASE("arange lengths that cannot exist are errors") {
  CHECK_ERROR_CONTAINS(arange(0, 1e19), "arange");
  CHECK_ERROR_CONTAINS(arange(0, 1e300, 1e-300), "arange", "int64");
  CHECK_ERROR_CONTAINS(arange(-1e308, 1e308, 1e-10), "arange");
  CHECK_ERROR_CONTAINS(arange(0, 5e18), "arange");  // fits int64, not memory
  CHECK_ERROR_CONTAINS(arange(0, INFINITY), "finite");
  CHECK_ERROR_CONTAINS(arange(0, 1, std::nan("")), "finite");
  CHECK_ERROR_CONTAINS(arange(kMax), "arange");
  CHECK(arange(0, 1, 0.25).numel() == 4);
}

TEST_CASE("Upsample scale factors whose output size cannot exist") {
  const Tensor x = ones({1, 1, 2, 2, 2});
  for (double s : {1e300, 1e19, 4.7e18, 1e30}) {
    CAPTURE(s);
    CHECK_ERROR_CONTAINS(
        nn::Upsample(
            nn::UpsampleOptions().scale_factor(std::vector<double>{s}))(x),
        "Upsample");
  }
}

TEST_CASE("conv geometry near INT64_MAX is refused, never UB or a hang") {
  const Tensor x = ones({1, 1, 4, 4, 4});
  const Tensor w = ones({1, 1, 3, 3, 3});
  const Tensor u = ones({1, 1, 2, 2, 2});
  // stride INT64_MAX: one output position; the ceil-division overflowed.
  const Tensor y = conv3d(x, w, {}, kMax, 1);
  CHECK(y.shape() == Shape{1, 1, 1, 1, 1});
  CHECK(y.item() == 8.0);  // taps at -1..1 of a ones input padded by 1
  // Huge padding, dilation, kernel, output_padding: errors.
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, 1, int64_t{1} << 61), "conv3d");
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, kMax, int64_t{1} << 61), "conv3d");
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, kMax, kMax), "conv3d");
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, 1, 0, int64_t{1} << 62), "conv3d");
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, 1, 0, kMax), "conv3d");
  CHECK_ERROR_CONTAINS(conv3d(x, w, {}, 1, "same", kMax), "conv3d");
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, w, {}, kMax), "conv_transpose3d", "output size");
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, w, {}, 2, 0, kMax - 1, 1, kMax), "conv_transpose3d");
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, w, {}, kMax, 0, kMax - 1), "conv_transpose3d");
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, w, {}, 1, 0, 0, 1, int64_t{1} << 62),
      "conv_transpose3d");
  CHECK_ERROR_CONTAINS(conv_transpose3d(u, w, {}, 1, kMax), "conv_transpose3d");
  CHECK_ERROR_CONTAINS(
      conv_transpose3d(u, w, {}, 1, 0, 0, 1, 1, {kMax, kMax, kMax}),
      "conv_transpose3d");
  // The geometry itself, as the kernels see it.
  kernels::ConvGeometry3d g;
  g.N = 1;
  g.C_in = g.C_out = 1;
  g.in = {4, 4, 4};
  g.out = {2, 2, 2};
  g.kernel = {3, 3, 3};
  g.padding = {int64_t{1} << 61, 0, 0};
  g.stride = {int64_t{1} << 61, 1, 1};
  CHECK_ERROR_CONTAINS(g.validate("conv3d"), "conv3d");
  g.padding = {0, 0, 0};
  g.stride = {1, 1, 1};
  g.N = kMax;
  CHECK_ERROR_CONTAINS(g.validate("conv3d"), "element count of x");
  CHECK(kernels::ConvGeometry3d::conv_out_size(4, 3, 1, kMax, 1) == kMax);
  CHECK(kernels::ConvGeometry3d::conv_out_size(4, kMax, 1, 0, kMax) < 1);
}

}  // namespace voxgrad
