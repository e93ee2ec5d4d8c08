#pragma once
// Internal to the conv3d kernels (not installed API; tests may use it): the
// table of SIMD micro-kernels one instruction set provides, and the switch
// that picks the table. Each conv3d_<isa>.cpp fills one table; conv3d.cpp
// chooses at run time, so the library itself stays baseline x86-64.

#include <cstdint>

namespace voxgrad::kernels::detail {

/// Rows (output channels of one register block) a micro-kernel handles.
inline constexpr int kMaxMR = 6;

/// c[r][j] (+)= sum_k a[k*kMaxMR + r] * b[k*ldb + j], for r < MR, j < nw.
/// `a` is a packed weight block, `b` a packed source panel, c a tile.
template <class T>
using GemmFn = void (*)(
    int64_t K,
    const T* a,
    const T* b,
    int64_t ldb,
    T* c,
    int64_t ldc,
    bool accumulate);

/// Rows (output channels) and panel rows (weight entries) of one
/// weight-gradient register block.
inline constexpr int kWgradMR = 3;
inline constexpr int kWgradNC = 4;

/// For r < MR, q < kWgradNC and each SIMD lane l < vl:
///   acc[r*ld_acc + q*vl + l] += sum_{p = l, l+vl, ... < P}
///                               dy[r*ld_dy + p] * b[q*ldb + p],
/// P a multiple of vl. Each lane is one chain over its positions in order;
/// the caller sums the lanes at the end.
template <class T>
using WgradFn = void (*)(
    int64_t P,
    const T* dy,
    int64_t ld_dy,
    const T* b,
    int64_t ldb,
    T* acc,
    int64_t ld_acc);

template <class T>
struct MicroKernels {
  const char* name;                // "generic", "avx2", "avx512"
  int64_t vl;                      // SIMD lanes
  int64_t nw;                      // columns per gemm call (2 SIMD vectors)
  GemmFn<T> gemm[kMaxMR + 1];      // indexed by MR = 1..kMaxMR
  WgradFn<T> wgrad[kWgradMR + 1];  // indexed by MR = 1..kWgradMR
};

template <class T>
const MicroKernels<T>& microkernels_generic();
template <class T>
const MicroKernels<T>& microkernels_avx2();
template <class T>
const MicroKernels<T>& microkernels_avx512();

enum class Isa { Auto, Generic, Avx2, Avx512 };

/// Forces the instruction set (tests compare each path with the reference).
/// Returns false, changing nothing, if this CPU cannot run `isa`.
bool set_conv3d_isa(Isa isa);

}  // namespace voxgrad::kernels::detail
