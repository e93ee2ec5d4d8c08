#include "voxgrad/core/kernels/pad3d.hpp"

#include <algorithm>
#include <string>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {

Int3 Pad3dGeometry::out() const {
  Int3 o{};
  for (size_t a = 0; a < 3; ++a) {
    o[a] = checked::add(
        in[a], checked::add(lo[a], hi[a], "pad3d", "the padding"), "pad3d",
        "the padded size");
  }
  return o;
}

void Pad3dGeometry::validate(const char* op) const {
  VOXGRAD_CHECK(planes >= 0, op, ": planes must be >= 0 (got ", planes, ")");
  static const char* const kAxis[] = {"depth", "height", "width"};
  for (size_t a = 0; a < 3; ++a) {
    VOXGRAD_CHECK(
        in[a] >= 0, op, ": the ", kAxis[a], " must be >= 0 (got ", in[a], ")");
    check_padding_fits(op, mode, kAxis[a], in[a], lo[a], hi[a]);
  }
  (void)out();  // the padded sizes must fit in int64
}

namespace {

/// The source of padded position q on an axis of n elements padded by lo
/// (q in [0, lo + n + hi)), or -1 for a zeros halo. Valid sizes are assumed
/// (check_padding_fits): every index returned is in [0, n).
int64_t source(int64_t q, int64_t n, int64_t lo, PaddingMode mode) {
  const int64_t r = q - lo;  // position relative to the first element
  if (r >= 0 && r < n)
    return r;
  switch (mode) {
    case PaddingMode::Zeros:
      return -1;
    case PaddingMode::Reflect:
      return r < 0 ? -r : 2 * (n - 1) - r;
    case PaddingMode::Replicate:
      return r < 0 ? 0 : n - 1;
    case PaddingMode::Circular:
      return r < 0 ? r + n : r - n;
  }
  return -1;
}

/// One axis of P: the source of every padded position, and (CSR) the
/// padded positions each source element is copied to, its own interior
/// position first, then the halo positions in increasing order.
struct AxisMap {
  int64_t n = 0, lo = 0, out = 0;
  std::vector<int64_t> src;    // [out]
  std::vector<int64_t> start;  // [n + 1]
  std::vector<int64_t> pre;    // [start[n]]

  AxisMap(int64_t n_, int64_t lo_, int64_t hi, PaddingMode mode)
      : n(n_), lo(lo_), out(n_ + lo_ + hi) {
    src.resize(static_cast<size_t>(out));
    std::vector<int64_t> count(static_cast<size_t>(n), 1);
    for (int64_t q = 0; q < out; ++q) {
      src[static_cast<size_t>(q)] = source(q, n, lo, mode);
      const bool halo = q < lo || q >= lo + n;
      if (halo && src[static_cast<size_t>(q)] >= 0)
        ++count[static_cast<size_t>(src[static_cast<size_t>(q)])];
    }
    start.assign(static_cast<size_t>(n) + 1, 0);
    for (int64_t i = 0; i < n; ++i)
      start[static_cast<size_t>(i + 1)] =
          start[static_cast<size_t>(i)] + count[static_cast<size_t>(i)];
    pre.resize(static_cast<size_t>(start.back()));
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i)
      pre[static_cast<size_t>(cursor[static_cast<size_t>(i)]++)] = i + lo;
    for (int64_t q = 0; q < out; ++q) {
      const int64_t s = src[static_cast<size_t>(q)];
      if ((q < lo || q >= lo + n) && s >= 0)
        pre[static_cast<size_t>(cursor[static_cast<size_t>(s)]++)] = q;
    }
  }
  const int64_t* begin(int64_t i) const {
    return pre.data() + start[static_cast<size_t>(i)];
  }
  const int64_t* end(int64_t i) const {
    return pre.data() + start[static_cast<size_t>(i + 1)];
  }
};

/// Rows per parallel task: about 16K elements of output.
int64_t row_grain(int64_t row_len) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_len));
}

/// dst[j] += src[j], j < n (one add per element: the same bits whether an
/// element lands in a vector or in the tail).
template <class T>
void add_row(T* dst, const T* src, int64_t n) {
  using B = xsimd::batch<T>;
  constexpr auto L = static_cast<int64_t>(B::size);
  int64_t j = 0;
  for (; j + L <= n; j += L)
    (B::load_unaligned(dst + j) + B::load_unaligned(src + j))
        .store_unaligned(dst + j);
  for (; j < n; ++j)
    dst[j] += src[j];
}

/// A row of the padded tensor: its width halos and its interior part.
template <class T>
struct RowParts {
  const T* lo;   // lo_w values
  const T* mid;  // in_w values (null: already in the output)
  const T* hi;   // hi_w values
};

/// Rows of a whole padded tensor (planes, out).
template <class T>
struct WholeRows {
  const T* y;
  int64_t od, oh, ow, lo_w, w;
  RowParts<T> operator()(int64_t c, int64_t qd, int64_t qh) const {
    const T* r = y + ((c * od + qd) * oh + qh) * ow;
    return {r, r + lo_w, r + lo_w + w};
  }
};

/// Rows of a padded tensor given as its halo slabs (PadHalo), the interior
/// being already in the output.
template <class T>
struct HaloRows {
  PadHalo<T> s;
  Int3 in, lo, hi, out;
  RowParts<T> operator()(int64_t c, int64_t qd, int64_t qh) const {
    const int64_t D = in[0], H = in[1], W = in[2];
    const int64_t full_row = (c * out[0] + qd) * out[1] + qh;
    const T* mid = nullptr;  // the interior: in place
    if (qh < lo[1]) {
      mid = s.h_lo + ((c * out[0] + qd) * lo[1] + qh) * W;
    } else if (qh >= lo[1] + H) {
      mid = s.h_hi + ((c * out[0] + qd) * hi[1] + qh - lo[1] - H) * W;
    } else if (qd < lo[0]) {
      mid = s.d_lo + ((c * lo[0] + qd) * H + qh - lo[1]) * W;
    } else if (qd >= lo[0] + D) {
      mid = s.d_hi + ((c * hi[0] + qd - lo[0] - D) * H + qh - lo[1]) * W;
    }
    return {s.w_lo + full_row * lo[2], mid, s.w_hi + full_row * hi[2]};
  }
};

constexpr int64_t kAheadRows = 8;

/// x = Pᵀ (the padded tensor `rows` describes), one output row per step in
/// the order pad3d_adjoint documents. With `in_place` the interior term is
/// already in x.
template <class T, class Rows>
void fold(const Pad3dGeometry& g, const Rows& rows, T* x, bool in_place) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  if (g.planes == 0 || D == 0 || H == 0 || W == 0)
    return;
  const AxisMap md(D, g.lo[0], g.hi[0], g.mode);
  const AxisMap mh(H, g.lo[1], g.hi[1], g.mode);
  const AxisMap mw(W, g.lo[2], g.hi[2], g.mode);
  // The width halo: (position within the lo / hi part, target column).
  std::vector<std::pair<int64_t, int64_t>> wlo, whi;
  for (int64_t q = 0; q < mw.out; ++q) {
    const int64_t s = mw.src[static_cast<size_t>(q)];
    if (s < 0)
      continue;
    if (q < g.lo[2])
      wlo.push_back({q, s});
    else if (q >= g.lo[2] + W)
      whi.push_back({q - g.lo[2] - W, s});
  }
  // One task step is a slice (c, d) of x: its rows need no index
  // arithmetic beyond the axis maps.
  parallel_for(0, g.planes * D, row_grain(H * W), [&](int64_t b, int64_t e) {
    for (int64_t sl = b; sl < e; ++sl) {
      const int64_t d = sl % D, c = sl / D;
      const int64_t* d0 = md.begin(d);
      const bool d_interior_only = d0 + 1 == md.end(d);
      for (int64_t h = 0; h < H; ++h) {
        T* xr = x + (sl * H + h) * W;
        const int64_t* h0 = mh.begin(h);
        if (in_place && d_interior_only && h0 + 1 == mh.end(h)) {
          // Most rows: nothing but the interior pair, already in place;
          // only its width halo to add (the same operations as below).
          // Each row is a few scattered adds to a line just written by the
          // conv kernel: fetch the lines a few rows ahead.
          __builtin_prefetch(xr + kAheadRows * W, 1);
          __builtin_prefetch(xr + kAheadRows * W + W - 1, 1);
          const RowParts<T> p = rows(c, *d0, *h0);
          for (const auto& [q, s] : wlo)
            xr[s] += p.lo[q];
          for (const auto& [q, s] : whi)
            xr[s] += p.hi[q];
          continue;
        }
        bool first = true;  // the interior position: first in both lists
        for (const int64_t* qd = md.begin(d); qd != md.end(d); ++qd) {
          for (const int64_t* qh = mh.begin(h); qh != mh.end(h); ++qh) {
            const RowParts<T> p = rows(c, *qd, *qh);
            if (first) {
              if (!in_place)
                std::copy(p.mid, p.mid + W, xr);
              first = false;
            } else {
              add_row(xr, p.mid, W);
            }
            for (const auto& [q, s] : wlo)
              xr[s] += p.lo[q];
            for (const auto& [q, s] : whi)
              xr[s] += p.hi[q];
          }
        }
      }
    }
  });
}

}  // namespace

template <class T>
void pad3d(const Pad3dGeometry& g, const T* x, T* y) {
  g.validate("pad3d");
  const Int3 o = g.out();
  const int64_t H = g.in[1], W = g.in[2];
  if (g.planes == 0 || o[0] == 0 || o[1] == 0 || o[2] == 0)
    return;
  const AxisMap md(g.in[0], g.lo[0], g.hi[0], g.mode);
  const AxisMap mh(H, g.lo[1], g.hi[1], g.mode);
  const AxisMap mw(W, g.lo[2], g.hi[2], g.mode);
  const int64_t lo_w = g.lo[2], slice = o[1] * o[2];
  // The width halo: (padded column, source column or -1 for zeros).
  std::vector<std::pair<int64_t, int64_t>> halo_w;
  for (int64_t q = 0; q < o[2]; ++q)
    if (q < lo_w || q >= lo_w + W)
      halo_w.push_back({q, mw.src[static_cast<size_t>(q)]});
  // One task step is a whole padded slice (c, od): its rows need no index
  // arithmetic beyond the row maps (a division per row cost more than the
  // copy of a short row).
  parallel_for(0, g.planes * o[0], row_grain(slice), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t od = r % o[0], c = r / o[0];
      T* ys = y + r * slice;
      const int64_t sd = md.src[static_cast<size_t>(od)];
      if (sd < 0) {  // a zeros halo slice
        std::fill(ys, ys + slice, T(0));
        continue;
      }
      const T* xs = x + (c * g.in[0] + sd) * H * W;
      for (int64_t oh = 0; oh < o[1]; ++oh) {
        T* yr = ys + oh * o[2];
        const int64_t sh = mh.src[static_cast<size_t>(oh)];
        if (sh < 0) {  // a zeros halo row
          std::fill(yr, yr + o[2], T(0));
          continue;
        }
        const T* xr = xs + sh * W;
        std::copy(xr, xr + W, yr + lo_w);
        for (const auto& [q, s] : halo_w)
          yr[q] = s < 0 ? T(0) : xr[s];
      }
    }
  });
}

template <class T>
void pad3d_adjoint(const Pad3dGeometry& g, const T* y, T* x) {
  g.validate("pad3d_adjoint");
  const Int3 o = g.out();
  fold<T>(g, WholeRows<T>{y, o[0], o[1], o[2], g.lo[2], g.in[2]}, x, false);
}

template <class T>
void pad3d_adjoint_halo(const Pad3dGeometry& g, const PadHalo<T>& halo, T* x) {
  g.validate("pad3d_adjoint");
  fold<T>(g, HaloRows<T>{halo, g.in, g.lo, g.hi, g.out()}, x, true);
}

#define VOXGRAD_INSTANTIATE(T)                                        \
  template void pad3d<T>(const Pad3dGeometry&, const T*, T*);         \
  template void pad3d_adjoint<T>(const Pad3dGeometry&, const T*, T*); \
  template void pad3d_adjoint_halo<T>(                                \
      const Pad3dGeometry&, const PadHalo<T>&, T*);
VOXGRAD_INSTANTIATE(float)
VOXGRAD_INSTANTIATE(double)
#undef VOXGRAD_INSTANTIATE

}  // namespace voxgrad::kernels
