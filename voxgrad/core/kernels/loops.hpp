#pragma once
// The strided, broadcasting, parallel loop behind every elementwise kernel
// (internal header: includes no TBB, but is not installed API either).
//
// K operands share one iteration shape; operand k walks it with strides[k]
// (0 on broadcast axes). Axes are coalesced where every operand allows it, so
// a contiguous tensor becomes one long row, and the body sees rows:
//   body(const int64_t off[K], int64_t n, const int64_t step[K])
// meaning elements off[k] + j*step[k], j < n. Rows are split into fixed-size
// pieces, so the work units, and hence results, do not depend on the thread
// count.

#include <algorithm>
#include <array>
#include <cstdint>

#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/shape.hpp"

namespace voxgrad::kernels {

/// Strides of `t_shape`/`t_strides` broadcast (trailing-aligned) to `shape`.
inline Strides broadcast_strides(
    const Shape& t_shape, const Strides& t_strides, const Shape& shape) {
  Strides s(shape.size(), 0);
  const size_t off = shape.size() - t_shape.size();
  for (size_t i = 0; i < t_shape.size(); ++i)
    s[off + i] = t_shape[i] == 1 ? 0 : t_strides[i];
  return s;
}

template <size_t K, class Body>
void strided_rows(
    const Shape& shape, const std::array<Strides, K>& strides, Body&& body) {
  // Coalesce: drop size-1 axes, merge axis i into i+1 where all strides agree.
  Shape dims;
  std::array<Strides, K> st;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1)
      continue;
    if (shape[i] == 0)
      return;
    bool merge = !dims.empty();
    for (size_t k = 0; k < K && merge; ++k)
      merge = st[k].back() == strides[k][i] * shape[i];
    if (merge) {
      dims.back() *= shape[i];
      for (size_t k = 0; k < K; ++k)
        st[k].back() = strides[k][i];
    } else {
      dims.push_back(shape[i]);
      for (size_t k = 0; k < K; ++k)
        st[k].push_back(strides[k][i]);
    }
  }
  if (dims.empty()) {  // a single element
    dims.push_back(1);
    for (size_t k = 0; k < K; ++k)
      st[k].push_back(0);
  }
  const size_t nd = dims.size();
  const int64_t len = dims[nd - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < nd; ++i)
    rows *= dims[i];

  constexpr int64_t kPiece = 16384;  // elements per work unit along a row
  const int64_t pieces = (len + kPiece - 1) / kPiece;
  const int64_t unit_len = std::min(len, kPiece);
  const int64_t grain = std::max<int64_t>(1, 32768 / unit_len);
  std::array<int64_t, K> step;
  for (size_t k = 0; k < K; ++k)
    step[k] = st[k][nd - 1];

  parallel_for(0, rows * pieces, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t row = u / pieces, piece = u % pieces;
      std::array<int64_t, K> off{};
      int64_t r = row;
      for (size_t i = nd - 1; i-- > 0;) {
        const int64_t idx = r % dims[i];
        r /= dims[i];
        for (size_t k = 0; k < K; ++k)
          off[k] += idx * st[k][i];
      }
      const int64_t j0 = piece * kPiece;
      for (size_t k = 0; k < K; ++k)
        off[k] += j0 * step[k];
      body(off.data(), std::min(kPiece, len - j0), step.data());
    }
  });
}

}  // namespace voxgrad::kernels
