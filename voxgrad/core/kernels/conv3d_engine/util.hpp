#pragma once
// Small integer helpers, the per-thread scratch buffer, the tuning constants
// per instruction set and the SIMD primitives the conv engines share.
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include <xsimd/xsimd.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "voxgrad/core/kernels/conv3d_internal.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels::detail {
namespace {

inline int64_t imin(int64_t a, int64_t b) {
  return a < b ? a : b;
}
inline int64_t imax(int64_t a, int64_t b) {
  return a > b ? a : b;
}
inline int64_t iclamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}
inline int64_t cdiv(int64_t a, int64_t b) {  // a >= 0, b > 0
  return (a + b - 1) / b;
}
inline int64_t fdiv(int64_t a, int64_t b) {  // floor, b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
inline int64_t rup(int64_t a, int64_t b) {
  return cdiv(a, b) * b;
}

// Every engine splits its output into at least this many tasks where the
// geometry allows (4 per thread on the 2-core machine the engines are tuned
// on). It is a constant, never num_threads(): the blocking, the splits and
// so the order of every sum depend on the geometry and the instruction set
// only, so results are bit-identical for any thread count or load (issue
// 10). More threads than kMinTasks / 2 may then find fewer tasks than they
// could use on small problems; large ones have many more tasks anyway.
constexpr int64_t kMinTasks = 8;

// Uninitialised, 64-byte-aligned scratch memory for n elements.
template <class E>
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(int64_t n)
      : bytes_(rup(imax(n, 1) * static_cast<int64_t>(sizeof(E)), 64)) {
    p_ = static_cast<E*>(std::aligned_alloc(64, static_cast<size_t>(bytes_)));
    if (!p_)
      throw std::bad_alloc();
    workspace_track(bytes_);
  }
  ~Scratch() {
    std::free(p_);
    workspace_track(-bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  E* get() const {
    return p_;
  }
  E& operator[](int64_t i) const {
    return p_[i];
  }

 private:
  int64_t bytes_ = 0;
  E* p_ = nullptr;
};

// Register-block limits of one instruction set (32 vector registers with
// AVX-512, 16 otherwise; SSE2 has no fused multiply-add and needs a
// temporary per product).
template <class T, class A>
struct Tune {
  using B = xsimd::batch<T, A>;
  static constexpr int64_t L = static_cast<int64_t>(B::size);
  static constexpr bool kWide = sizeof(B) >= 64;
  static constexpr bool kSse = sizeof(B) <= 16;
  static constexpr int kRegs = kWide ? 32 : 16;
  static constexpr int kMR = kWide ? 8 : (kSse ? 4 : 6);
  static constexpr int kNV = kWide ? 8 : 6;
  // Largest NV with MR*NV accumulators + NV loaded vectors + 1 broadcast
  // (+ 1 product temporary without FMA) in registers.
  static constexpr int nv_max(int mr) {
    const int spare = kRegs - 2 - (kSse ? 1 : 0);
    const int nv = spare / (mr + 1);
    return nv < 1 ? 1 : (nv > kNV ? kNV : nv);
  }
  static constexpr int kWMR = kWide ? 4 : (kSse ? 2 : 3);  // wgrad rows
  static constexpr int kWNC = kWide ? 6 : (kSse ? 4 : 3);  // wgrad entries
};

// Fused multiply-add; xsimd 8.1 falls back to x*y+z for avx512f, so use the
// instruction directly there.
template <class T, class A>
inline xsimd::batch<T, A> madd(
    const xsimd::batch<T, A>& a,
    const xsimd::batch<T, A>& b,
    const xsimd::batch<T, A>& c) {
#if defined(__AVX512F__)
  if constexpr (sizeof(xsimd::batch<T, A>) == 64) {
    if constexpr (std::is_same_v<T, float>)
      return _mm512_fmadd_ps(a, b, c);
    else
      return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

// A store that bypasses the caches (p aligned to the vector size).
template <class T, class A>
inline void store_stream(T* p, const xsimd::batch<T, A>& v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(v) == 64) {
    if constexpr (std::is_same_v<T, float>)
      _mm512_stream_ps(p, v);
    else
      _mm512_stream_pd(p, v);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(v) == 32) {
    if constexpr (std::is_same_v<T, float>)
      _mm256_stream_ps(p, v);
    else
      _mm256_stream_pd(p, v);
    return;
  }
#endif
  v.store_aligned(p);
}

inline void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace
}  // namespace voxgrad::kernels::detail
