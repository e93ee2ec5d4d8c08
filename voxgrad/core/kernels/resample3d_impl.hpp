#pragma once
// The resampling loop, templated on an xsimd architecture and compiled once
// per instruction set (resample3d.cpp: baseline, resample3d_avx2.cpp,
// resample3d_avx512.cpp); NOTE [ ISA dispatch ] in isa.hpp. Products and
// sums are separate roundings in a fixed order, so every ISA gives the same
// bits.

#include <cstdlib>
#include <new>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/resample3d_table.hpp"
#include "voxgrad/core/parallel.hpp"

VOXGRAD_SIMD_WARNINGS_BEGIN
namespace voxgrad::kernels::detail {
namespace {

// y[i] += a * x[i] for i < n, as a separate multiply and add.
template <class T, class A>
void axpy(T a, const T* x, T* y, int64_t n) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t W = B::size;
  const B va(a);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    (B::load_unaligned(y + i) + va * B::load_unaligned(x + i))
        .store_unaligned(y + i);
  for (; i < n; ++i)
    y[i] = y[i] + a * x[i];
}

// Per-task scratch (plain malloc: no standard container is instantiated in
// an ISA-specific translation unit).
template <class T>
struct Rows {
  explicit Rows(int64_t n)
      : p(static_cast<T*>(
            std::malloc(static_cast<size_t>(n > 0 ? n : 1) * sizeof(T)))) {
    if (!p)
      throw std::bad_alloc();
  }
  ~Rows() {
    std::free(p);
  }
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  T* p;
};

// Parallel over (plane, output depth) slices of y. For each input depth
// slice a slice uses, the W pass (a gather) runs once per input row into
// `rows`, then rows are combined into the output slice with axpys. Every
// element is summed over d, then h entries of w-sums, in a fixed order: any
// thread count gives the same bits.
template <class T, class A>
void apply_k(const ResampleArgs<T>& a) {
  const AxisMapView<T>&md = a.d, &mh = a.h, &mw = a.w;
  const int64_t iH = mh.in, iW = mw.in, iHW = iH * iW, iDHW = md.in * iHW;
  const int64_t oH = mh.out, oW = mw.out, oHW = oH * oW;
  const bool gather = md.unit && mh.unit && mw.unit;
  const int64_t grain = 32768 / (oHW > 0 ? oHW : 1) > 1 ? 32768 / oHW : 1;
  parallel_for(0, a.planes * md.out, grain, [&](int64_t u0, int64_t u1) {
    Rows<T> rows(gather ? 0 : iH * oW);
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t od = u % md.out;
      const T* xp = a.x + (u / md.out) * iDHW;
      T* yp = a.y + u * oHW;
      if (gather) {
        const T* xd = xp + md.idx[od] * iHW;
        for (int64_t oh = 0; oh < oH; ++oh) {
          const T* xr = xd + mh.idx[oh] * iW;
          T* yr = yp + oh * oW;
          for (int64_t ow = 0; ow < oW; ++ow)
            yr[ow] = xr[mw.idx[ow]];
        }
        continue;
      }
      for (int64_t i = 0; i < oHW; ++i)
        yp[i] = T(0);
      for (int64_t e = md.start[od]; e < md.start[od + 1]; ++e) {
        const T* xd = xp + md.idx[e] * iHW;
        for (int64_t ih = 0; ih < iH; ++ih) {
          if (!a.row_used[ih])
            continue;
          const T* xr = xd + ih * iW;
          T* r = rows.p + ih * oW;
          for (int64_t ow = 0; ow < oW; ++ow) {
            T s = 0;
            for (int64_t c = mw.start[ow]; c < mw.start[ow + 1]; ++c)
              s = s + mw.w[c] * xr[mw.idx[c]];
            r[ow] = s;
          }
        }
        for (int64_t oh = 0; oh < oH; ++oh) {
          T* yr = yp + oh * oW;
          for (int64_t b = mh.start[oh]; b < mh.start[oh + 1]; ++b)
            axpy<T, A>(md.w[e] * mh.w[b], rows.p + mh.idx[b] * oW, yr, oW);
        }
      }
    }
  });
}

template <class T, class A>
constexpr ResampleTable<T> make_resample3d_table(const char* name) {
  return {name, &apply_k<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
VOXGRAD_SIMD_WARNINGS_END
