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
//
// Two halves: RowLayout (baseline code only: it owns std::vectors) coalesces
// the axes; the RowPlan it hands out is plain data, and for_each_row() runs
// it in any translation unit, including those built for AVX2 / AVX-512
// (NOTE [ ISA dispatch ] in isa.hpp).

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/shape.hpp"

namespace voxgrad::kernels {

/// Most operands one loop walks (an output and up to three inputs).
inline constexpr int kMaxLoopOperands = 4;

/// A coalesced iteration, as plain data. Valid while its RowLayout lives.
struct RowPlan {
  int operands = 0;
  int64_t nd = 0;  // coalesced axes (>= 1 unless empty)
  const int64_t* dims = nullptr;
  const int64_t* strides[kMaxLoopOperands] = {};
  bool empty = false;  // some extent is 0: nothing to do
};

/// Strides of `t_shape`/`t_strides` broadcast (trailing-aligned) to `shape`.
inline Strides broadcast_strides(
    const Shape& t_shape, const Strides& t_strides, const Shape& shape) {
  Strides s(shape.size(), 0);
  const size_t off = shape.size() - t_shape.size();
  for (size_t i = 0; i < t_shape.size(); ++i)
    s[off + i] = t_shape[i] == 1 ? 0 : t_strides[i];
  return s;
}

/// Coalesces `shape` walked by each of `operands` stride vectors.
class RowLayout {
 public:
  RowLayout(const Shape& shape, const Strides* strides, int operands)
      : st_(static_cast<size_t>(operands)) {
    VOXGRAD_ASSERT(operands >= 1 && operands <= kMaxLoopOperands);
    // Drop size-1 axes, merge axis i into i+1 where all strides agree.
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 1)
        continue;
      if (shape[i] == 0) {
        empty_ = true;
        return;
      }
      bool merge = !dims_.empty();
      for (size_t k = 0; k < st_.size() && merge; ++k)
        merge = st_[k].back() == strides[k][i] * shape[i];
      if (merge) {
        dims_.back() *= shape[i];
        for (size_t k = 0; k < st_.size(); ++k)
          st_[k].back() = strides[k][i];
      } else {
        dims_.push_back(shape[i]);
        for (size_t k = 0; k < st_.size(); ++k)
          st_[k].push_back(strides[k][i]);
      }
    }
    if (dims_.empty()) {  // a single element
      dims_.push_back(1);
      for (auto& s : st_)
        s.push_back(0);
    }
  }
  RowLayout(const RowLayout&) = delete;
  RowLayout& operator=(const RowLayout&) = delete;

  RowPlan plan() const {
    RowPlan p;
    p.operands = static_cast<int>(st_.size());
    p.nd = static_cast<int64_t>(dims_.size());
    p.dims = dims_.data();
    for (size_t k = 0; k < st_.size(); ++k)
      p.strides[k] = st_[k].data();
    p.empty = empty_;
    return p;
  }

 private:
  Shape dims_;
  std::vector<Strides> st_;
  bool empty_ = false;
};

/// Elements per work unit along a row: fixed, so units (and results) do not
/// depend on the thread count.
inline constexpr int64_t kRowPiece = 16384;

/// Runs body(off, n, step) over the rows of `p`, in parallel over fixed-size
/// pieces. off and step hold p.operands entries.
template <class Body>
void for_each_row(const RowPlan& p, Body&& body) {
  if (p.empty)
    return;
  const int64_t nd = p.nd;
  const int K = p.operands;
  const int64_t len = p.dims[nd - 1];
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < nd; ++i)
    rows *= p.dims[i];
  const int64_t pieces = (len + kRowPiece - 1) / kRowPiece;
  const int64_t unit_len = len < kRowPiece ? len : kRowPiece;
  const int64_t grain = std::max<int64_t>(1, 32768 / unit_len);
  int64_t step[kMaxLoopOperands] = {};
  for (int k = 0; k < K; ++k)
    step[k] = p.strides[k][nd - 1];

  parallel_for(0, rows * pieces, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t row = u / pieces, piece = u % pieces;
      int64_t off[kMaxLoopOperands] = {};
      int64_t r = row;
      for (int64_t i = nd - 1; i-- > 0;) {
        const int64_t idx = r % p.dims[i];
        r /= p.dims[i];
        for (int k = 0; k < K; ++k)
          off[k] += idx * p.strides[k][i];
      }
      const int64_t j0 = piece * kRowPiece;
      for (int k = 0; k < K; ++k)
        off[k] += j0 * step[k];
      const int64_t n = len - j0 < kRowPiece ? len - j0 : kRowPiece;
      body(
          static_cast<const int64_t*>(off), n,
          static_cast<const int64_t*>(step));
    }
  });
}

/// Baseline convenience: coalesce and run in one call.
template <size_t K, class Body>
void strided_rows(
    const Shape& shape, const std::array<Strides, K>& strides, Body&& body) {
  const RowLayout layout(shape, strides.data(), static_cast<int>(K));
  for_each_row(layout.plan(), body);
}

}  // namespace voxgrad::kernels
