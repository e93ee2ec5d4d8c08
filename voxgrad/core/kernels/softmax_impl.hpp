// The softmax, log-softmax and cross-entropy loops (softmax.hpp), compiled
// once per instruction set (NOTE [ ISA dispatch ] in isa.hpp): softmax.cpp
// (baseline), softmax_avx2.cpp and softmax_avx512.cpp each define
// VOXGRAD_SOFTMAX_ARCH (an xsimd architecture) and VOXGRAD_SOFTMAX_NS (a
// namespace of their own) and include this file once. No include guard on
// purpose. Results are bit-identical for any thread count on one ISA; across
// ISAs exp and log may differ in the last bits (FMA in xsimd's polynomials).

#include <algorithm>
#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/softmax.hpp"
#include "voxgrad/core/kernels/softmax_table.hpp"
#include "voxgrad/core/parallel.hpp"

VOXGRAD_SIMD_WARNINGS_BEGIN
namespace voxgrad::kernels::detail::VOXGRAD_SOFTMAX_NS {
namespace {

template <class T>
using B = xsimd::batch<T, VOXGRAD_SOFTMAX_ARCH>;

template <class T>
constexpr int64_t kW = static_cast<int64_t>(B<T>::size);

template <class T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

/// n <= W elements p[0], p[step], ... in the first lanes, `pad` after.
template <class T>
B<T> load_part(const T* p, int64_t n, int64_t step, T pad) {
  alignas(64) T buf[kW<T>];
  for (int64_t i = 0; i < kW<T>; ++i)
    buf[i] = i < n ? p[i * step] : pad;
  return B<T>::load_aligned(buf);
}

template <class T>
void store_part(T* p, const B<T>& v, int64_t n, int64_t step) {
  alignas(64) T buf[kW<T>];
  v.store_aligned(buf);
  for (int64_t i = 0; i < n; ++i)
    p[i * step] = buf[i];
}

template <class T>
T lane_max(const B<T>& v) {
  alignas(64) T buf[kW<T>];
  v.store_aligned(buf);
  T m = buf[0];
  for (int64_t i = 1; i < kW<T>; ++i)
    m = std::max(m, buf[i]);
  return m;
}

/// Runs body(r) for r in [0, n), in parallel, `cost` ~ elements per r.
template <class F>
void for_units(int64_t n, int64_t cost, F body) {
  const int64_t grain =
      std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cost));
  parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      body(r);
  });
}

// ---- one contiguous row of C values (inner == 1) ---------------------------

/// max over the row and sum of exp(x - max) (written to y when `keep`).
template <class T>
std::pair<T, T> row_max_sumexp(const T* x, T* y, int64_t C, bool keep) {
  constexpr int64_t W = kW<T>;
  B<T> m(kNegInf<T>);
  int64_t j = 0;
  for (; j + W <= C; j += W)
    m = xsimd::max(m, B<T>::load_unaligned(x + j));
  if (j < C)
    m = xsimd::max(m, load_part(x + j, C - j, 1, kNegInf<T>));
  const T mx = lane_max(m);
  const B<T> vm(mx);
  B<T> s(T(0));
  for (j = 0; j + W <= C; j += W) {
    const B<T> e = xsimd::exp(B<T>::load_unaligned(x + j) - vm);
    s += e;
    if (keep)
      e.store_unaligned(y + j);
  }
  if (j < C) {
    // Padding lanes hold -inf, so exp gives exactly 0 there, unless the
    // maximum is -inf or NaN, where the whole row is NaN anyway (as in
    // PyTorch).
    const B<T> e = xsimd::exp(load_part(x + j, C - j, 1, kNegInf<T>) - vm);
    s += e;
    if (keep)
      store_part(y + j, e, C - j, 1);
  }
  return {mx, xsimd::hadd(s)};
}

template <class T>
void row_forward(const T* x, T* y, int64_t C, bool log) {
  constexpr int64_t W = kW<T>;
  const auto [mx, sum] = row_max_sumexp(x, y, C, !log);
  int64_t j = 0;
  if (log) {
    const B<T> shift(mx), lg(std::log(sum));
    for (; j + W <= C; j += W)
      ((B<T>::load_unaligned(x + j) - shift) - lg).store_unaligned(y + j);
    for (; j < C; ++j)
      y[j] = (x[j] - mx) - std::log(sum);
  } else {
    const B<T> vs(sum);
    for (; j + W <= C; j += W)
      (B<T>::load_unaligned(y + j) / vs).store_unaligned(y + j);
    for (; j < C; ++j)
      y[j] = y[j] / sum;
  }
}

template <class T>
void row_backward(const T* y, const T* dy, T* dx, int64_t C, bool log) {
  constexpr int64_t W = kW<T>;
  B<T> acc(T(0));
  int64_t j = 0;
  for (; j + W <= C; j += W) {
    const B<T> g = B<T>::load_unaligned(dy + j);
    acc += log ? g : g * B<T>::load_unaligned(y + j);
  }
  if (j < C) {
    const B<T> g = load_part(dy + j, C - j, 1, T(0));
    acc += log ? g : g * load_part(y + j, C - j, 1, T(0));
  }
  const B<T> s(xsimd::hadd(acc));
  for (j = 0; j + W <= C; j += W) {
    const B<T> g = B<T>::load_unaligned(dy + j);
    const B<T> v = B<T>::load_unaligned(y + j);
    (log ? g - xsimd::exp(v) * s : v * (g - s)).store_unaligned(dx + j);
  }
  if (j < C) {
    const B<T> g = load_part(dy + j, C - j, 1, T(0));
    const B<T> v = load_part(y + j, C - j, 1, T(0));
    store_part(dx + j, log ? g - xsimd::exp(v) * s : v * (g - s), C - j, 1);
  }
}

// ---- up to W columns of C values, `inner` apart (inner > 1) ---------------
// Lanes are independent: each column's result is the same whichever block
// or thread computes it.

template <class T>
struct Columns {
  int64_t lanes, stride;  // lanes <= W valid; stride = inner
  B<T> load(const T* p) const {
    return lanes == kW<T> ? B<T>::load_unaligned(p)
                          : load_part(p, lanes, 1, T(0));
  }
  void store(T* p, const B<T>& v) const {
    if (lanes == kW<T>)
      v.store_unaligned(p);
    else
      store_part(p, v, lanes, 1);
  }
};

/// max and sum of exp(x - max) per column (exp kept in y when `keep`).
template <class T>
std::pair<B<T>, B<T>> col_max_sumexp(
    const Columns<T>& k, const T* x, T* y, int64_t C, bool keep) {
  B<T> m = k.load(x);
  for (int64_t c = 1; c < C; ++c)
    m = xsimd::max(m, k.load(x + c * k.stride));
  B<T> s(T(0));
  for (int64_t c = 0; c < C; ++c) {
    const B<T> e = xsimd::exp(k.load(x + c * k.stride) - m);
    s += e;
    if (keep)
      k.store(y + c * k.stride, e);
  }
  return {m, s};
}

template <class T>
void col_forward(const Columns<T>& k, const T* x, T* y, int64_t C, bool log) {
  const auto [m, s] = col_max_sumexp(k, x, y, C, !log);
  if (log) {
    const B<T> lg = xsimd::log(s);
    for (int64_t c = 0; c < C; ++c)
      k.store(y + c * k.stride, (k.load(x + c * k.stride) - m) - lg);
  } else {
    for (int64_t c = 0; c < C; ++c)
      k.store(y + c * k.stride, k.load(y + c * k.stride) / s);
  }
}

template <class T>
void col_backward(
    const Columns<T>& k, const T* y, const T* dy, T* dx, int64_t C, bool log) {
  B<T> s(T(0));
  for (int64_t c = 0; c < C; ++c) {
    const B<T> g = k.load(dy + c * k.stride);
    s += log ? g : g * k.load(y + c * k.stride);
  }
  for (int64_t c = 0; c < C; ++c) {
    const B<T> g = k.load(dy + c * k.stride);
    const B<T> v = k.load(y + c * k.stride);
    k.store(dx + c * k.stride, log ? g - xsimd::exp(v) * s : v * (g - s));
  }
}

/// Calls f(columns, offset) for every block of up to W columns, in parallel.
template <class T, class F>
void for_column_blocks(const ClassAxis& s, F f) {
  constexpr int64_t W = kW<T>;
  const int64_t blocks = (s.inner + W - 1) / W;
  for_units(s.outer * blocks, s.classes * W, [&](int64_t r) {
    const int64_t o = r / blocks, i0 = (r % blocks) * W;
    f(Columns<T>{std::min(W, s.inner - i0), s.inner},
      o * s.classes * s.inner + i0, o * s.inner + i0);
  });
}

// ---- cross-entropy: the per-position pieces shared by both layouts ---------

template <class T>
T weight_sum(const ClassAxis& s, const CrossEntropyArgs<T>& a) {
  if (!a.weight)
    return static_cast<T>(s.classes);
  T w = 0;
  for (int64_t c = 0; c < s.classes; ++c)
    w += a.weight[c];
  return w;
}

/// Loss of one position from its shift m, log-sum ls = log(sum exp(x - m)),
/// the shifted target logit xt - m and ws = sum_c w_c (x_c - m).
template <class T>
T position_loss(
    const CrossEntropyArgs<T>& a, T wt, T xt_m, T ls, T ws, T W, int64_t C) {
  const T nll = -wt * (xt_m - ls);
  if (a.label_smoothing == 0)
    return nll;
  const T eps = static_cast<T>(a.label_smoothing);
  const T smooth = -(ws - W * ls);
  return (T(1) - eps) * nll + eps / static_cast<T>(C) * smooth;
}

}  // namespace

template <class T>
void softmax_forward(const ClassAxis& s, const T* x, T* y, bool log) {
  const int64_t C = s.classes;
  if (C == 0)
    return;
  if (s.inner == 1) {
    for_units(s.outer, C, [&](int64_t r) {
      row_forward(x + r * C, y + r * C, C, log);
    });
    return;
  }
  for_column_blocks<T>(s, [&](const Columns<T>& k, int64_t off, int64_t) {
    col_forward(k, x + off, y + off, C, log);
  });
}

template <class T>
void softmax_backward(
    const ClassAxis& s, const T* y, const T* dy, T* dx, bool log) {
  const int64_t C = s.classes;
  if (C == 0)
    return;
  if (s.inner == 1) {
    for_units(s.outer, C, [&](int64_t r) {
      row_backward(y + r * C, dy + r * C, dx + r * C, C, log);
    });
    return;
  }
  for_column_blocks<T>(s, [&](const Columns<T>& k, int64_t off, int64_t) {
    col_backward(k, y + off, dy + off, dx + off, C, log);
  });
}

template <class T>
void cross_entropy_forward(
    const ClassAxis& s,
    const T* x,
    const CrossEntropyArgs<T>& a,
    T* loss,
    T* lse) {
  const int64_t C = s.classes;
  const T W = weight_sum(s, a);
  const bool smoothing = a.label_smoothing != 0;
  auto wsum_shifted = [&](const T* row, int64_t step, T m) {
    T ws = 0;
    for (int64_t c = 0; c < C; ++c)
      ws += (a.weight ? a.weight[c] : T(1)) * (row[c * step] - m);
    return ws;
  };
  if (s.inner == 1) {
    for_units(s.outer, C, [&](int64_t r) {
      const T* row = x + r * C;
      const auto [m, sum] = row_max_sumexp<T>(row, nullptr, C, false);
      const T ls = std::log(sum);
      lse[r] = m + ls;
      const int64_t t = a.target[r];
      if (t == a.ignore_index) {
        loss[r] = 0;
        return;
      }
      const T ws = smoothing ? wsum_shifted(row, 1, m) : T(0);
      const T wt = a.weight ? a.weight[t] : T(1);
      loss[r] = position_loss(a, wt, row[t] - m, ls, ws, W, C);
    });
    return;
  }
  for_column_blocks<T>(s, [&](const Columns<T>& k, int64_t off, int64_t pos) {
    const auto [m, sum] = col_max_sumexp<T>(k, x + off, nullptr, C, false);
    alignas(64) T mb[kW<T>], lb[kW<T>];
    m.store_aligned(mb);
    xsimd::log(sum).store_aligned(lb);
    for (int64_t i = 0; i < k.lanes; ++i) {
      const int64_t t = a.target[pos + i];
      lse[pos + i] = mb[i] + lb[i];
      if (t == a.ignore_index) {
        loss[pos + i] = 0;
        continue;
      }
      const T* col = x + off + i;
      const T ws = smoothing ? wsum_shifted(col, s.inner, mb[i]) : T(0);
      const T wt = a.weight ? a.weight[t] : T(1);
      loss[pos + i] =
          position_loss(a, wt, col[t * s.inner] - mb[i], lb[i], ws, W, C);
    }
  });
}

template <class T>
void cross_entropy_backward(
    const ClassAxis& s,
    const T* x,
    const CrossEntropyArgs<T>& a,
    const T* lse,
    const T* grad,
    T* dx) {
  const int64_t C = s.classes;
  const T W = weight_sum(s, a);
  const T eps = static_cast<T>(a.label_smoothing);
  const T eps_c = eps / static_cast<T>(C);
  // Per position: the coefficient of p (ga), of w_c (gb) and the target
  // fix-up (gt); all 0 for an ignored position.
  auto coefficients = [&](int64_t pos, T& ga, T& gb, T& gt) {
    const int64_t t = a.target[pos];
    if (t == a.ignore_index) {
      ga = gb = gt = 0;
      return;
    }
    const T g = grad[pos];
    const T wt = a.weight ? a.weight[t] : T(1);
    ga = g * ((T(1) - eps) * wt + eps_c * W);
    gb = g * eps_c;
    gt = g * (T(1) - eps) * wt;
  };
  if (s.inner == 1) {
    for_units(s.outer, C, [&](int64_t r) {
      const T* row = x + r * C;
      T* out = dx + r * C;
      T ga, gb, gt;
      coefficients(r, ga, gb, gt);
      if (ga == 0 && gb == 0) {
        std::fill(out, out + C, T(0));
        return;
      }
      constexpr int64_t Wd = kW<T>;
      const B<T> shift(lse[r]), va(ga), vb(gb);
      int64_t c = 0;
      for (; c + Wd <= C; c += Wd) {
        const B<T> p = xsimd::exp(B<T>::load_unaligned(row + c) - shift);
        const B<T> w =
            a.weight ? B<T>::load_unaligned(a.weight + c) : B<T>(T(1));
        (va * p - vb * w).store_unaligned(out + c);
      }
      if (c < C) {
        const B<T> p = xsimd::exp(load_part(row + c, C - c, 1, T(0)) - shift);
        const B<T> w =
            a.weight ? load_part(a.weight + c, C - c, 1, T(0)) : B<T>(T(1));
        store_part(out + c, va * p - vb * w, C - c, 1);
      }
      out[a.target[r]] -= gt;
    });
    return;
  }
  for_column_blocks<T>(s, [&](const Columns<T>& k, int64_t off, int64_t pos) {
    alignas(64) T ab[kW<T>] = {}, bb[kW<T>] = {}, lb[kW<T>] = {};
    T gt[kW<T>] = {};
    for (int64_t i = 0; i < k.lanes; ++i) {
      coefficients(pos + i, ab[i], bb[i], gt[i]);
      lb[i] = lse[pos + i];
    }
    const B<T> va = B<T>::load_aligned(ab), vb = B<T>::load_aligned(bb);
    const B<T> vl = B<T>::load_aligned(lb);
    for (int64_t c = 0; c < C; ++c) {
      const B<T> p = xsimd::exp(k.load(x + off + c * k.stride) - vl);
      const B<T> w = a.weight ? B<T>(a.weight[c]) : B<T>(T(1));
      // Ignored lanes have va = vb = 0; select keeps them exactly 0 even
      // where p is not finite.
      k.store(
          dx + off + c * k.stride, xsimd::select(
                                       va == B<T>(T(0)) && vb == B<T>(T(0)),
                                       B<T>(T(0)), va * p - vb * w));
    }
    for (int64_t i = 0; i < k.lanes; ++i) {
      const int64_t t = a.target[pos + i];
      if (t != a.ignore_index)
        dx[off + i + t * s.inner] -= gt[i];
    }
  });
}

template <class T>
const SoftmaxTable<T>& make_table(const char* name) {
  static const SoftmaxTable<T> table{
      name, &softmax_forward<T>, &softmax_backward<T>,
      &cross_entropy_forward<T>, &cross_entropy_backward<T>};
  return table;
}

}  // namespace voxgrad::kernels::detail::VOXGRAD_SOFTMAX_NS
VOXGRAD_SIMD_WARNINGS_END
