#pragma once
// Register-block limits per vector width, shared by the planner (which
// chooses blocks from them) and the executors (whose micro-kernel tables
// they size): 32 vector registers with AVX-512, 16 otherwise; 16-byte
// vectors (SSE2) have no fused multiply-add and need a temporary per
// product.

#include <cstdint>

namespace voxgrad::kernels::detail {
namespace {

struct Blocking {
  int64_t regs;    // vector registers
  bool temp;       // a product needs its own register (no FMA)
  int64_t mr_max;  // gather: rows per register block
  int64_t nv_cap;  // gather: columns per register block
  int64_t wmr;     // WgradLanes: output channels per register block
  int64_t wnc;     // WgradLanes: entries per register block

  // Most columns with mr rows: mr*nv accumulators + nv loaded vectors + 1
  // broadcast (+ 1 product temporary) must fit the registers.
  constexpr int64_t nv_max(int64_t mr) const {
    const int64_t nv = (regs - 2 - (temp ? 1 : 0)) / (mr + 1);
    return nv < 1 ? 1 : (nv > nv_cap ? nv_cap : nv);
  }
};

constexpr Blocking blocking_for(int64_t vector_bytes) {
  const bool wide = vector_bytes >= 64, narrow = vector_bytes <= 16;
  return Blocking{
      wide ? 32 : 16,
      narrow,
      wide ? 8 : (narrow ? 4 : 6),
      wide ? 8 : 6,
      wide ? 4 : (narrow ? 2 : 3),
      wide ? 6 : (narrow ? 4 : 3)};
}

// WgradChannels: entries x channel vectors per register block (4 channel
// vectors take at most 6 entries).
constexpr int64_t kChanNE = 8, kChanNCV = 4;

// Weight gradients: the most planes packed into one window (a batch).
constexpr int64_t kMaxBatch = 16;

}  // namespace
}  // namespace voxgrad::kernels::detail
