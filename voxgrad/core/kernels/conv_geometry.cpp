#include "voxgrad/core/kernels/conv_geometry.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"

namespace voxgrad::kernels {
namespace {

constexpr const char* kAxis[3] = {"depth", "height", "width"};

// The largest index range one axis may span (2^62): any sum or difference
// of two such indices still fits in int64.
constexpr int64_t kMaxExtent = int64_t{1} << 62;

// Every message ends with the whole geometry, so a failure deep inside an
// autograd graph still says which convolution it was.
void check_triple(
    const char* op,
    const char* field,
    const Int3& v,
    int64_t min,
    const ConvGeometry3d& g) {
  for (int a = 0; a < 3; ++a)
    VOXGRAD_CHECK(
        v[a] >= min, op, ": ", field, "[", a, "] (", kAxis[a],
        ") must be >= ", min, " (got ", v[a], "); geometry ", g.str());
}

}  // namespace

int64_t ConvGeometry3d::conv_out_size(
    int64_t in, int64_t k, int64_t s, int64_t p, int64_t dil) {
  // In 128 bits: in + 2p and dil*(k-1) may each exceed int64 for hostile
  // arguments, and the result is clamped into int64 so that validate()
  // (which rejects sizes < 1 and every geometry whose extents do not fit)
  // reports it instead of a wrapped value.
  __extension__ typedef __int128 I;
  VOXGRAD_ASSERT(s >= 1);
  const I span = I{in} + 2 * I{p} - I{dil} * (I{k} - 1) - 1;
  // Floor division: span may be negative when the input is too small.
  const I q = span >= 0 ? span / s : -((-span + s - 1) / s);
  const I out = q + 1;
  constexpr I kMax = std::numeric_limits<int64_t>::max();
  constexpr I kMin = std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(out > kMax ? kMax : out < kMin ? kMin : out);
}

void ConvGeometry3d::validate(const char* op) const {
  const auto& g = *this;
  VOXGRAD_CHECK(
      N >= 0, op, ": N (batch size) must be >= 0 (got ", N, "); geometry ",
      str());
  VOXGRAD_CHECK(
      C_in >= 1, op, ": C_in must be >= 1 (got ", C_in, "); geometry ", str());
  VOXGRAD_CHECK(
      C_out >= 1, op, ": C_out must be >= 1 (got ", C_out, "); geometry ",
      str());
  VOXGRAD_CHECK(
      groups >= 1, op, ": groups must be >= 1 (got ", groups, "); geometry ",
      str());
  VOXGRAD_CHECK(
      C_in % groups == 0, op, ": groups (", groups,
      ") must divide C_in (got C_in = ", C_in, "); geometry ", str());
  VOXGRAD_CHECK(
      C_out % groups == 0, op, ": groups (", groups,
      ") must divide C_out (got C_out = ", C_out, "); geometry ", str());
  check_triple(op, "in", in, 1, g);
  check_triple(op, "out", out, 1, g);
  check_triple(op, "kernel", kernel, 1, g);
  check_triple(op, "stride", stride, 1, g);
  check_triple(op, "padding", padding, 0, g);
  check_triple(op, "dilation", dilation, 1, g);
  __extension__ typedef __int128 I;
  for (int a = 0; a < 3; ++a) {
    // Every index the kernels form along this axis lies in
    // [-padding, in + padding) and [0, (out-1)*stride + dilation*(kernel-1)];
    // both ends must fit in int64 with room to spare, so no kernel loop
    // bound or offset can overflow (computed in 128 bits, where they can't).
    const I padded = I{in[a]} + 2 * I{padding[a]};
    const I span =
        (I{out[a]} - 1) * stride[a] + I{dilation[a]} * (kernel[a] - 1) + 1;
    VOXGRAD_CHECK(
        padded <= kMaxExtent && span <= kMaxExtent, op, ": along ", kAxis[a],
        " the padded input (in + 2*padding = ", in[a], " + 2*", padding[a],
        ") and the kernel's reach ((out-1)*stride + dilation*(kernel-1) + 1 "
        "with out ",
        out[a], ", stride ", stride[a], ", dilation ", dilation[a], ", kernel ",
        kernel[a], ") must be at most ", kMaxExtent, "; geometry ", str());
    const I extra = I{in[a]} - (span - 2 * I{padding[a]});
    const int64_t limit = std::max(stride[a], dilation[a]);
    VOXGRAD_CHECK(
        extra >= 0 && extra < limit, op, ": in[", a, "] (", kAxis[a],
        ") = ", in[a], " does not match out[", a, "] = ", out[a],
        " (expected in - ((",
        "out-1)*stride - 2*padding + dilation*(kernel-1) + 1) in [0, ",
        "max(stride, dilation)) = [0, ", limit, "), got ",
        static_cast<int64_t>(extra), " with kernel ", kernel[a], ", stride ",
        stride[a], ", padding ", padding[a], ", dilation ", dilation[a],
        "); geometry ", str());
  }
  const ConvGeometry3d c = canonical();
  for (int a = 0; a < 3; ++a) {
    const std::pair<const char*, int64_t> steps[3] = {
        {"padding", c.padding[a]},
        {"stride", c.stride[a]},
        {"dilation", c.dilation[a]}};
    for (const auto& [name, v] : steps) {
      VOXGRAD_CHECK(
          v <= kMaxStep, op, ": ", name, "[", a, "] (", kAxis[a], ") = ", v,
          " is larger than the supported maximum ", kMaxStep,
          " (2^31; a stride only matters along an axis with more than one "
          "output position, a dilation only with a kernel of more than one "
          "tap); geometry ",
          str());
    }
  }
  // Element counts of x, y and w (and the flop count) must fit in int64.
  auto count = [&](std::initializer_list<int64_t> f, const char* what) {
    int64_t n = 1;
    for (int64_t v : f)
      n = checked::mul(n, v, op, what);
    return n;
  };
  count({N, C_in, in[0], in[1], in[2]}, "the element count of x");
  count({N, C_out, out[0], out[1], out[2]}, "the element count of y");
  count(
      {C_out, C_in / groups, kernel[0], kernel[1], kernel[2]},
      "the element count of the weight");
}

ConvGeometry3d ConvGeometry3d::canonical() const {
  ConvGeometry3d c = *this;
  for (int a = 0; a < 3; ++a) {
    // extra = in - covered, as validate() defines it; with out == 1 it does
    // not involve the stride, with kernel == 1 not the dilation, so the
    // replacements below keep 0 <= extra < max(stride, dilation).
    __extension__ typedef __int128 I;
    const I covered = (I{out[a]} - 1) * stride[a] - 2 * I{padding[a]} +
                      I{dilation[a]} * (kernel[a] - 1) + 1;
    const I extra = I{in[a]} - covered;
    if (extra < 0)
      continue;  // invalid; validate() reports it
    const auto e = static_cast<int64_t>(extra);
    if (out[a] == 1)
      c.stride[a] = e < dilation[a] ? 1 : e + 1;
    if (kernel[a] == 1)
      c.dilation[a] = e < c.stride[a] ? 1 : e + 1;
  }
  return c;
}

std::string ConvGeometry3d::str() const {
  std::string s;
  auto put = [&s](const char* key, int64_t v) {
    s += key;
    s += std::to_string(v);
  };
  // Optional triple: omitted at its default, collapsed when all agree.
  auto put3 = [&](const char* const keys[3], const Int3& v, int64_t dflt) {
    if (v[0] == dflt && v[1] == dflt && v[2] == dflt)
      return;
    if (v[0] == v[1] && v[1] == v[2]) {
      put(keys[0], v[0]);
      return;
    }
    for (int a = 0; a < 3; ++a)
      put(keys[a], v[a]);
  };
  if (groups != 1)
    put("g", groups);
  put("mb", N);
  put("ic", C_in);
  put("id", in[0]);
  put("ih", in[1]);
  put("iw", in[2]);
  put("oc", C_out);
  // Printed when the formula does not give them (or cannot: stride 0).
  bool derived = true;
  for (int a = 0; a < 3; ++a)
    derived =
        derived && stride[a] >= 1 &&
        out[a] ==
            conv_out_size(in[a], kernel[a], stride[a], padding[a], dilation[a]);
  if (!derived) {
    put("od", out[0]);
    put("oh", out[1]);
    put("ow", out[2]);
  }
  put("kd", kernel[0]);
  put("kh", kernel[1]);
  put("kw", kernel[2]);
  static constexpr const char* kS[3] = {"sd", "sh", "sw"};
  static constexpr const char* kP[3] = {"pd", "ph", "pw"};
  static constexpr const char* kD[3] = {"dd", "dh", "dw"};
  put3(kS, stride, 1);
  put3(kP, padding, 0);
  put3(kD, dilation, 1);
  return s;
}

}  // namespace voxgrad::kernels
