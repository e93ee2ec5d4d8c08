#include "voxgrad/core/kernels/conv_geometry.hpp"

#include <algorithm>

#include "voxgrad/core/error.hpp"

namespace voxgrad::kernels {
namespace {

constexpr const char* kAxis[3] = {"depth", "height", "width"};

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
  const int64_t span = in + 2 * p - dil * (k - 1) - 1;
  // Floor division: span may be negative when the input is too small.
  const int64_t q = span >= 0 ? span / s : -((-span + s - 1) / s);
  return q + 1;
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
  for (int a = 0; a < 3; ++a) {
    const int64_t covered = (out[a] - 1) * stride[a] - 2 * padding[a] +
                            dilation[a] * (kernel[a] - 1) + 1;
    const int64_t extra = in[a] - covered;
    const int64_t limit = std::max(stride[a], dilation[a]);
    VOXGRAD_CHECK(
        extra >= 0 && extra < limit, op, ": in[", a, "] (", kAxis[a],
        ") = ", in[a], " does not match out[", a, "] = ", out[a],
        " (expected in - ((",
        "out-1)*stride - 2*padding + dilation*(kernel-1) + 1) in [0, ",
        "max(stride, dilation)) = [0, ", limit, "), got ", extra,
        " with kernel ", kernel[a], ", stride ", stride[a], ", padding ",
        padding[a], ", dilation ", dilation[a], "); geometry ", str());
  }
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
