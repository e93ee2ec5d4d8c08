#include "voxgrad/core/kernels/pool3d.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {

// ---- window tables ----------------------------------------------------------

namespace {

/// Valid taps of window o of a regular pool: first tap t0, count (may be <= 0).
std::pair<int64_t, int64_t> taps(
    int64_t in, int64_t o, int64_t k, int64_t s, int64_t p, int64_t d) {
  const int64_t raw = o * s - p;
  const int64_t t0 = raw >= 0 ? 0 : (-raw + d - 1) / d;
  const int64_t t1 = raw > in - 1 ? -1 : std::min(k - 1, (in - 1 - raw) / d);
  return {t0, t1 - t0 + 1};
}

}  // namespace

PoolAxis pool_axis(
    int64_t in,
    int64_t out,
    int64_t kernel,
    int64_t stride,
    int64_t padding,
    int64_t dilation,
    bool count_include_pad) {
  PoolAxis a;
  a.in = in;
  a.out = out;
  a.dilation = dilation;
  for (int64_t o = 0; o < out; ++o) {
    const auto [t0, n] = taps(in, o, kernel, stride, padding, dilation);
    VOXGRAD_ASSERT(n >= 1);
    const int64_t raw = o * stride - padding;
    a.start.push_back(raw + t0 * dilation);
    a.count.push_back(n);
    // avg_pool3d (dilation 1): padding counts up to the padded end only.
    a.divisor.push_back(
        count_include_pad ? std::min(raw + kernel, in + padding) - raw : n);
  }
  return a;
}

int64_t pool_axis_empty(
    int64_t in,
    int64_t out,
    int64_t kernel,
    int64_t stride,
    int64_t padding,
    int64_t dilation) {
  for (int64_t o = 0; o < out; ++o)
    if (taps(in, o, kernel, stride, padding, dilation).second < 1)
      return o;
  return -1;
}

PoolAxis adaptive_axis(int64_t in, int64_t out) {
  PoolAxis a;
  a.in = in;
  a.out = out;
  for (int64_t o = 0; o < out; ++o) {
    // PyTorch's start_index / end_index, in 128 bits (o * in may not fit).
    __extension__ typedef __int128 I;
    const auto b = static_cast<int64_t>(I(o) * in / out);
    const auto e = static_cast<int64_t>((I(o + 1) * in + out - 1) / out);
    a.start.push_back(b);
    a.count.push_back(e - b);
    a.divisor.push_back(e - b);
  }
  return a;
}

// ---- shared loop ------------------------------------------------------------

namespace {

/// Calls f(p, od, oh, row_out) for every output row of W, in parallel over a
/// partition of the rows; `work` estimates the elements one row reads.
template <class F>
void for_rows(const PoolWindows3d& w, int64_t work, F f) {
  const int64_t od_n = w.axis[0].out, oh_n = w.axis[1].out;
  const int64_t rows = w.planes * od_n * oh_n;
  const int64_t grain =
      std::max<int64_t>(1, 32768 / std::max<int64_t>(work, 1));
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      f(r / (od_n * oh_n), r / oh_n % od_n, r % oh_n, r);
  });
}

/// The columns [lo, hi) any width window reads.
std::pair<int64_t, int64_t> column_range(const PoolAxis& a) {
  int64_t lo = a.start[0], hi = 0;
  for (int64_t o = 0; o < a.out; ++o) {
    const auto u = static_cast<size_t>(o);
    lo = std::min(lo, a.start[u]);
    hi = std::max(hi, a.start[u] + (a.count[u] - 1) * a.dilation + 1);
  }
  return {lo, hi};
}

/// Input row (d, h) of tap t of output row (od, oh), as an offset in a plane.
struct RowTaps {
  int64_t d0, h0, dil_d, dil_h, nh, n, H, W;
  RowTaps(const PoolWindows3d& w, int64_t od, int64_t oh) {
    const auto &A = w.axis[0], &B = w.axis[1];
    d0 = A.start[static_cast<size_t>(od)];
    h0 = B.start[static_cast<size_t>(oh)];
    dil_d = A.dilation;
    dil_h = B.dilation;
    nh = B.count[static_cast<size_t>(oh)];
    n = A.count[static_cast<size_t>(od)] * nh;
    H = B.in;
    W = w.axis[2].in;
  }
  int64_t row(int64_t t) const {
    return ((d0 + t / nh * dil_d) * H + h0 + t % nh * dil_h) * W;
  }
};

}  // namespace

// ---- max --------------------------------------------------------------------

namespace {

/// (value, flat index) "b replaces a" under NOTE [ Pooling windows ]' order.
template <class T>
bool better(T a, int64_t ia, T b, int64_t ib) {
  if (std::isnan(b))
    return !std::isnan(a) || ib > ia;
  return !std::isnan(a) && (b > a || (b == a && ib < ia));
}

/// Column pass: cv[c] = max over the row taps of x[row(t) + c] for c in
/// [lo, hi); with ord, the tap it came from (PyTorch's sequential rule
/// within one column, which scans rows in order).
template <class T>
void column_max(
    const T* xp,
    const RowTaps& rt,
    int64_t lo,
    int64_t hi,
    T* cv,
    int64_t* ord,
    T* ord_t) {
  using V = xsimd::batch<T>;
  constexpr int64_t L = V::size;
  const T* r0 = xp + rt.row(0);
  std::copy(r0 + lo, r0 + hi, cv + lo);
  if (ord)
    std::fill(ord_t + lo, ord_t + hi, T(0));
  // Ordinals ride in T lanes; exact while the tap count fits T's mantissa.
  const bool exact = rt.n <= (int64_t{1} << std::numeric_limits<T>::digits);
  for (int64_t t = 1; t < rt.n; ++t) {
    const T* r = xp + rt.row(t);
    const V tv(static_cast<T>(t));
    int64_t c = lo;
    if (exact || !ord) {
      for (; c + L <= hi; c += L) {
        const V v = V::load_unaligned(r + c);
        const V b = V::load_unaligned(cv + c);
        const auto upd = (v > b) || (v != v);
        xsimd::select(upd, v, b).store_unaligned(cv + c);
        if (ord) {
          const V o = V::load_unaligned(ord_t + c);
          xsimd::select(upd, tv, o).store_unaligned(ord_t + c);
        }
      }
    }
    for (; c < hi; ++c) {
      const T v = r[c];
      if (v > cv[c] || std::isnan(v)) {
        cv[c] = v;
        if (ord) {
          if (exact)
            ord_t[c] = static_cast<T>(t);
          else
            ord[c] = t;
        }
      }
    }
  }
  if (ord && exact)
    for (int64_t c = lo; c < hi; ++c)
      ord[c] = static_cast<int64_t>(ord_t[c]);
}

}  // namespace

template <class T>
void max_pool3d_fwd(const PoolWindows3d& w, const T* x, T* y, int64_t* idx) {
  const PoolAxis& C = w.axis[2];
  const int64_t plane_in = w.in_numel();
  // Not a structured binding: the lambda below reads them (clang 14 cannot
  // capture bindings).
  const auto range = column_range(C);
  const int64_t lo = range.first, hi = range.second;
  const int64_t ow_n = C.out;
  const int64_t work = w.axis[0].count[0] * w.axis[1].count[0] * (hi - lo);
  for_rows(w, work, [&](int64_t p, int64_t od, int64_t oh, int64_t r) {
    thread_local std::vector<T> cv, ord_t;
    thread_local std::vector<int64_t> ord;
    cv.resize(static_cast<size_t>(C.in));
    ord_t.resize(idx ? static_cast<size_t>(C.in) : 0);
    ord.assign(idx ? static_cast<size_t>(C.in) : 0, 0);
    const RowTaps rt(w, od, oh);
    column_max(
        x + p * plane_in, rt, lo, hi, cv.data(), idx ? ord.data() : nullptr,
        ord_t.data());
    T* yr = y + r * ow_n;
    int64_t* ir = idx ? idx + r * ow_n : nullptr;
    for (int64_t ow = 0; ow < ow_n; ++ow) {
      int64_t c = C.start[static_cast<size_t>(ow)];
      const int64_t n = C.count[static_cast<size_t>(ow)];
      T bv = cv[static_cast<size_t>(c)];
      if (!ir) {
        for (int64_t t = 1; t < n; ++t) {
          c += C.dilation;
          const T v = cv[static_cast<size_t>(c)];
          if (v > bv || std::isnan(v))
            bv = v;
        }
        yr[ow] = bv;
        continue;
      }
      int64_t bi = rt.row(ord[static_cast<size_t>(c)]) + c;
      for (int64_t t = 1; t < n; ++t) {
        c += C.dilation;
        const T v = cv[static_cast<size_t>(c)];
        const int64_t i = rt.row(ord[static_cast<size_t>(c)]) + c;
        if (better(bv, bi, v, i)) {
          bv = v;
          bi = i;
        }
      }
      yr[ow] = bv;
      ir[ow] = bi;
    }
  });
}

// ---- average ----------------------------------------------------------------

template <class T>
void avg_pool3d_fwd(
    const PoolWindows3d& w, const T* x, T* y, int64_t divisor_override) {
  using V = xsimd::batch<T>;
  constexpr int64_t L = V::size;
  const auto &A = w.axis[0], &B = w.axis[1], &C = w.axis[2];
  const int64_t plane_in = w.in_numel();
  // Not a structured binding: the lambda below reads them (clang 14 cannot
  // capture bindings).
  const auto range = column_range(C);
  const int64_t lo = range.first, hi = range.second;
  const int64_t work = A.count[0] * B.count[0] * (hi - lo);
  for_rows(w, work, [&](int64_t p, int64_t od, int64_t oh, int64_t r) {
    thread_local std::vector<T> cs;
    cs.resize(static_cast<size_t>(C.in));
    const RowTaps rt(w, od, oh);
    const T* xp = x + p * plane_in;
    const T* r0 = xp + rt.row(0);
    std::copy(r0 + lo, r0 + hi, cs.data() + lo);
    for (int64_t t = 1; t < rt.n; ++t) {
      const T* rr = xp + rt.row(t);
      int64_t c = lo;
      for (; c + L <= hi; c += L)
        (V::load_unaligned(cs.data() + c) + V::load_unaligned(rr + c))
            .store_unaligned(cs.data() + c);
      for (; c < hi; ++c)
        cs[static_cast<size_t>(c)] += rr[c];
    }
    const int64_t dh =
        A.divisor[static_cast<size_t>(od)] * B.divisor[static_cast<size_t>(oh)];
    T* yr = y + r * C.out;
    for (int64_t ow = 0; ow < C.out; ++ow) {
      const auto u = static_cast<size_t>(ow);
      const T* s = cs.data() + C.start[u];
      T sum = s[0];
      for (int64_t t = 1; t < C.count[u]; ++t)
        sum += s[t];
      const int64_t div =
          divisor_override ? divisor_override : dh * C.divisor[u];
      yr[ow] = sum / static_cast<T>(div);
    }
  });
}

namespace {

/// For each input position i, the outputs [lo[i], hi[i]) whose (dilation 1)
/// window holds it; windows start and end in non-decreasing order.
void inverse_ranges(
    const PoolAxis& a, std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
  lo.assign(static_cast<size_t>(a.in), 0);
  hi.assign(static_cast<size_t>(a.in), 0);
  int64_t first = 0, last = 0;
  for (int64_t i = 0; i < a.in; ++i) {
    while (first < a.out && a.start[static_cast<size_t>(first)] +
                                    a.count[static_cast<size_t>(first)] <=
                                i)
      ++first;
    while (last < a.out && a.start[static_cast<size_t>(last)] <= i)
      ++last;
    lo[static_cast<size_t>(i)] = first;
    hi[static_cast<size_t>(i)] = std::max(first, last);
  }
}

}  // namespace

template <class T>
void avg_pool3d_bwd(
    const PoolWindows3d& w, const T* dy, T* dx, int64_t divisor_override) {
  using V = xsimd::batch<T>;
  constexpr int64_t L = V::size;
  const auto &A = w.axis[0], &B = w.axis[1], &C = w.axis[2];
  std::array<std::vector<int64_t>, 3> lo, hi;
  for (size_t a = 0; a < 3; ++a)
    inverse_ranges(w.axis[a], lo[a], hi[a]);
  const int64_t plane_out = w.out_numel();
  const int64_t rows = w.planes * A.in * B.in;
  const int64_t grain = std::max<int64_t>(1, 32768 / (4 * (C.in + C.out)));
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    thread_local std::vector<T> acc, div;
    acc.resize(static_cast<size_t>(C.out));
    div.resize(static_cast<size_t>(C.out));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t p = r / (A.in * B.in);
      const auto id = static_cast<size_t>(r / B.in % A.in);
      const auto ih = static_cast<size_t>(r % B.in);
      T* dxr = dx + r * C.in;
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t od = lo[0][id]; od < hi[0][id]; ++od) {
        for (int64_t oh = lo[1][ih]; oh < hi[1][ih]; ++oh) {
          const int64_t dh = A.divisor[static_cast<size_t>(od)] *
                             B.divisor[static_cast<size_t>(oh)];
          for (int64_t ow = 0; ow < C.out; ++ow)
            div[static_cast<size_t>(ow)] = static_cast<T>(
                divisor_override ? divisor_override
                                 : dh * C.divisor[static_cast<size_t>(ow)]);
          const T* g = dy + p * plane_out + (od * B.out + oh) * C.out;
          int64_t ow = 0;
          for (; ow + L <= C.out; ow += L)
            (V::load_unaligned(acc.data() + ow) +
             V::load_unaligned(g + ow) / V::load_unaligned(div.data() + ow))
                .store_unaligned(acc.data() + ow);
          for (; ow < C.out; ++ow) {
            const auto u = static_cast<size_t>(ow);
            acc[u] += g[ow] / div[u];
          }
        }
      }
      for (int64_t iw = 0; iw < C.in; ++iw) {
        const auto u = static_cast<size_t>(iw);
        T s(0);
        for (int64_t ow = lo[2][u]; ow < hi[2][u]; ++ow)
          s += acc[static_cast<size_t>(ow)];
        dxr[iw] = s;
      }
    }
  });
}

// ---- index gather / scatter -------------------------------------------------

namespace {

void check_indices(
    int64_t planes, int64_t small, int64_t large, const int64_t* idx) {
  const int64_t n = planes * small;
  for (int64_t j = 0; j < n; ++j) {
    VOXGRAD_CHECK(
        idx[j] >= 0 && idx[j] < large,
        "max_unpool3d / max pooling indices: ", "index ", idx[j],
        " at flat position ", j, " is outside the output plane of ", large,
        " elements (expected 0 <= ", "index < ", large, ")");
  }
}

}  // namespace

template <class T>
void index_gather(
    int64_t planes,
    int64_t small,
    int64_t large,
    const T* src,
    const int64_t* idx,
    T* dst) {
  check_indices(planes, small, large, idx);
  const int64_t n = planes * small;
  parallel_for(0, n, 32768, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j)
      dst[j] = src[j / small * large + idx[j]];
  });
}

template <class T>
void index_gather_last(
    int64_t planes,
    int64_t small,
    int64_t large,
    const T* src,
    const int64_t* idx,
    T* dst) {
  check_indices(planes, small, large, idx);
  const int64_t grain =
      std::max<int64_t>(1, 32768 / std::max<int64_t>(1, small + large));
  parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    // last[k]: the last j of the plane that writes position k. Only the
    // positions the plane's indices name are read, and each is written by
    // the first loop before, so the buffer needs no clearing.
    thread_local std::vector<int64_t> last;
    last.resize(static_cast<size_t>(large));
    for (int64_t p = p0; p < p1; ++p) {
      const T* s = src + p * large;
      const int64_t* i = idx + p * small;
      T* d = dst + p * small;
      for (int64_t j = 0; j < small; ++j)
        last[static_cast<size_t>(i[j])] = j;
      for (int64_t j = 0; j < small; ++j)
        d[j] = last[static_cast<size_t>(i[j])] == j ? s[i[j]] : T(0);
    }
  });
}

template <class T>
void index_scatter(
    int64_t planes,
    int64_t small,
    int64_t large,
    const T* src,
    const int64_t* idx,
    T* dst,
    bool accumulate) {
  check_indices(planes, small, large, idx);
  const int64_t grain =
      std::max<int64_t>(1, 32768 / std::max<int64_t>(1, small + large));
  parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* d = dst + p * large;
      const T* s = src + p * small;
      const int64_t* i = idx + p * small;
      std::fill(d, d + large, T(0));
      if (accumulate) {
        for (int64_t j = 0; j < small; ++j)
          d[i[j]] += s[j];
      } else {
        for (int64_t j = 0; j < small; ++j)
          d[i[j]] = s[j];
      }
    }
  });
}

#define VOXGRAD_POOL_INSTANTIATE(T)                             \
  template void max_pool3d_fwd<T>(                              \
      const PoolWindows3d&, const T*, T*, int64_t*);            \
  template void avg_pool3d_fwd<T>(                              \
      const PoolWindows3d&, const T*, T*, int64_t);             \
  template void avg_pool3d_bwd<T>(                              \
      const PoolWindows3d&, const T*, T*, int64_t);             \
  template void index_gather<T>(                                \
      int64_t, int64_t, int64_t, const T*, const int64_t*, T*); \
  template void index_gather_last<T>(                           \
      int64_t, int64_t, int64_t, const T*, const int64_t*, T*); \
  template void index_scatter<T>(                               \
      int64_t, int64_t, int64_t, const T*, const int64_t*, T*, bool);
VOXGRAD_POOL_INSTANTIATE(float)
VOXGRAD_POOL_INSTANTIATE(double)
#undef VOXGRAD_POOL_INSTANTIATE

}  // namespace voxgrad::kernels
