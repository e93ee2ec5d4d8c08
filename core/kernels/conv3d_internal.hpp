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

/// acc[r*ld_acc + j] += sum_{p < P} dy[r*ld_dy + p] * pt[p*ldp + j],
/// for r < MR, j < nw: one block of the weight gradient, summed over P
/// positions in order p = 0, 1, ... (one fixed chain per element).
template <class T>
using WgradFn = void (*)(
    int64_t P,
    const T* dy,
    int64_t ld_dy,
    const T* pt,
    int64_t ldp,
    T* acc,
    int64_t ld_acc);

template <class T>
struct MicroKernels {
  const char* name;            // "generic", "avx2", "avx512"
  int64_t nw;                  // columns per micro-kernel call (2 SIMD vectors)
  GemmFn<T> gemm[kMaxMR + 1];  // indexed by MR = 1..kMaxMR
  WgradFn<T> wgrad[kMaxMR + 1];  // indexed by MR = 1..kMaxMR
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
