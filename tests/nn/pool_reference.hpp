#pragma once
// The reference loops the pooling tests share (test_pooling.cpp,
// test_max_unpool.cpp): max pooling's windows and the index PyTorch picks in
// each, inputs full of ties, random geometries, and the adjoint of a linear
// map taken column by column.

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "test_util.hpp"

namespace voxgrad::nn::pool_reference {

/// A uniform integer in [lo, hi].
inline int64_t pick(Generator& g, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(
                  uniform({}, 0.0, 1.0, kFloat64, &g).item() *
                  static_cast<double>(hi - lo + 1)) %
                  (hi - lo + 1);
}

/// Integers in [-levels, levels]: windows full of ties. Optionally NaN in a
/// fraction nan_rate of the positions.
inline Tensor quantized(
    const Shape& s, double levels, Generator& gen, double nan_rate = 0) {
  auto v = uniform(s, -levels - 0.5, levels + 0.5, kFloat64, &gen)
               .to_vector<double>();
  const auto u = uniform(s, 0, 1, kFloat64, &gen).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = u[i] < nan_rate ? NAN : std::round(v[i]);
  return tensor(v, s, kFloat64);
}

/// The input gradient of a linear map f at any point, by columns: the
/// adjoint applied to gy, <f(e_i), gy> for every basis vector e_i.
inline Tensor adjoint_by_columns(
    const std::function<Tensor(const Tensor&)>& f,
    const Shape& in_shape,
    const Tensor& gy) {
  const int64_t n = numel(in_shape);
  std::vector<double> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> e(static_cast<size_t>(n), 0.0);
    e[static_cast<size_t>(i)] = 1;
    g[static_cast<size_t>(i)] =
        (f(tensor(e, in_shape, kFloat64)) * gy).sum().item();
  }
  return tensor(g, in_shape, kFloat64);
}

/// The input positions of output `o` along one axis of extent `in`: a
/// regular window (kernel k, stride s, padding p, dilation d; taps in the
/// padding left out) or, when adaptive_out > 0, PyTorch's adaptive window
/// [o * in / out, ceil((o + 1) * in / out)).
inline std::vector<int64_t> axis_taps(
    int64_t in,
    int64_t o,
    int64_t k,
    int64_t s,
    int64_t p,
    int64_t d,
    int64_t adaptive_out) {
  std::vector<int64_t> t;
  if (adaptive_out > 0) {
    for (int64_t i = o * in / adaptive_out;
         i < ((o + 1) * in + adaptive_out - 1) / adaptive_out; ++i)
      t.push_back(i);
    return t;
  }
  for (int64_t j = 0; j < k; ++j) {
    const int64_t i = o * s - p + j * d;
    if (i >= 0 && i < in)
      t.push_back(i);
  }
  return t;
}

/// Every window's maximum and where it is.
struct MaxWindows {
  std::vector<double> values;    // one per output, (n, c, d, h, w) order
  std::vector<int64_t> indices;  // each within its (n, c) plane
};

/// PyTorch 1.13's max_pool3d_with_indices_single_out_frame, one output at a
/// time for the output extents `out` (adaptive windows instead when
/// `adaptive`; k, s, p and d are then unused): each window scanned
/// depth-major with `v > best || isnan(v)`, so ties go to the first element
/// and NaN to the last.
inline MaxWindows max_windows(
    const Tensor& x,
    const std::array<int64_t, 3>& out,
    const Int3& k,
    const Int3& s,
    const Int3& p,
    const Int3& d,
    bool adaptive) {
  const int64_t planes = x.size(0) * x.size(1);
  const std::array<int64_t, 3> in{x.size(2), x.size(3), x.size(4)};
  const auto xv = x.to_vector<double>();
  const int64_t plane = in[0] * in[1] * in[2];
  MaxWindows m;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) {
          const std::array<int64_t, 3> o{od, oh, ow};
          std::array<std::vector<int64_t>, 3> t;
          for (size_t a = 0; a < 3; ++a)
            t[a] = axis_taps(
                in[a], o[a], k[a], s[a], p[a], d[a], adaptive ? out[a] : 0);
          double best = -std::numeric_limits<double>::infinity();
          int64_t bi = (t[0][0] * in[1] + t[1][0]) * in[2] + t[2][0];
          for (int64_t dd : t[0])
            for (int64_t h : t[1])
              for (int64_t w : t[2]) {
                const int64_t i = (dd * in[1] + h) * in[2] + w;
                const double v = xv[static_cast<size_t>(pl * plane + i)];
                if (v > best || std::isnan(v)) {
                  best = v;
                  bi = i;
                }
              }
          m.values.push_back(best);
          m.indices.push_back(bi);
        }
  return m;
}

}  // namespace voxgrad::nn::pool_reference
