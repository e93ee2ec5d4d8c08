#pragma once
// Naive scalar reference of the three conv3d kernels: the oracle the
// production kernels are tested against (llm.c's *_naive, oneDNN's
// ker_plain). Written straight from the definitions, independent of the
// production decomposition: bwd_data is the literal transpose of the forward
// loop (a scatter), and every result comes with the sum of |terms| so
// callers can bound the rounding error of any summation order.
//
// Layouts as in voxgrad/core/kernels/conv3d.hpp:
//   x (N, C_in, in), w (C_out, C_in/G, kd, kh, kw), y (N, C_out, out).

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/core/kernels/conv_geometry.hpp"

namespace voxgrad::test {

/// Accumulator type: wider than T, so the reference is the exact-ish value.
template <class T>
using RefAcc =
    std::conditional_t<std::is_same_v<T, float>, double, long double>;

/// A reference result: the value and the sum of |products| per element.
template <class T>
struct RefResult {
  std::vector<RefAcc<T>> val, abs;
};

namespace ref_detail {
// Calls f(n, grp, co, ci, t=(td,th,tw), y index, x index) for every product
// w[co, ci, t] * x[...] that contributes to y. `ci` is the in-group index.
template <class F>
void for_each_term(const kernels::ConvGeometry3d& g, F&& f) {
  const int64_t Cig = g.C_in_g(), Cog = g.C_out_g();
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t co = 0; co < g.C_out; ++co) {
      const int64_t grp = co / Cog;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            const int64_t yi =
                (((n * g.C_out + co) * g.out[0] + od) * g.out[1] + oh) *
                    g.out[2] +
                ow;
            for (int64_t ci = 0; ci < Cig; ++ci)
              for (int64_t td = 0; td < g.kernel[0]; ++td) {
                const int64_t id =
                    od * g.stride[0] - g.padding[0] + td * g.dilation[0];
                if (id < 0 || id >= g.in[0])
                  continue;
                for (int64_t th = 0; th < g.kernel[1]; ++th) {
                  const int64_t ih =
                      oh * g.stride[1] - g.padding[1] + th * g.dilation[1];
                  if (ih < 0 || ih >= g.in[1])
                    continue;
                  for (int64_t tw = 0; tw < g.kernel[2]; ++tw) {
                    const int64_t iw =
                        ow * g.stride[2] - g.padding[2] + tw * g.dilation[2];
                    if (iw < 0 || iw >= g.in[2])
                      continue;
                    const int64_t xi =
                        (((n * g.C_in + grp * Cig + ci) * g.in[0] + id) *
                             g.in[1] +
                         ih) *
                            g.in[2] +
                        iw;
                    const int64_t wi =
                        (((co * Cig + ci) * g.kernel[0] + td) * g.kernel[1] +
                         th) *
                            g.kernel[2] +
                        tw;
                    f(yi, xi, wi);
                  }
                }
              }
          }
    }
}
}  // namespace ref_detail

/// y = A_w x.
template <class T>
RefResult<T> ref_conv3d_fwd(
    const kernels::ConvGeometry3d& g, const T* x, const T* w) {
  RefResult<T> r;
  r.val.assign(static_cast<size_t>(g.y_numel()), 0);
  r.abs.assign(r.val.size(), 0);
  ref_detail::for_each_term(g, [&](int64_t yi, int64_t xi, int64_t wi) {
    const RefAcc<T> t = RefAcc<T>(w[wi]) * RefAcc<T>(x[xi]);
    r.val[static_cast<size_t>(yi)] += t;
    r.abs[static_cast<size_t>(yi)] += std::abs(t);
  });
  return r;
}

/// dx = A_wᵀ dy: the forward loop with the roles of x and y exchanged.
template <class T>
RefResult<T> ref_conv3d_bwd_data(
    const kernels::ConvGeometry3d& g, const T* dy, const T* w) {
  RefResult<T> r;
  r.val.assign(static_cast<size_t>(g.x_numel()), 0);
  r.abs.assign(r.val.size(), 0);
  ref_detail::for_each_term(g, [&](int64_t yi, int64_t xi, int64_t wi) {
    const RefAcc<T> t = RefAcc<T>(w[wi]) * RefAcc<T>(dy[yi]);
    r.val[static_cast<size_t>(xi)] += t;
    r.abs[static_cast<size_t>(xi)] += std::abs(t);
  });
  return r;
}

/// dw = ∂<A_w x, dy>/∂w.
template <class T>
RefResult<T> ref_conv3d_bwd_weight(
    const kernels::ConvGeometry3d& g, const T* x, const T* dy) {
  RefResult<T> r;
  r.val.assign(static_cast<size_t>(g.w_numel()), 0);
  r.abs.assign(r.val.size(), 0);
  ref_detail::for_each_term(g, [&](int64_t yi, int64_t xi, int64_t wi) {
    const RefAcc<T> t = RefAcc<T>(x[xi]) * RefAcc<T>(dy[yi]);
    r.val[static_cast<size_t>(wi)] += t;
    r.abs[static_cast<size_t>(wi)] += std::abs(t);
  });
  return r;
}

/// One element of each result, for spot checks of shapes too big for the
/// full reference: y[yi], dx[xi] and dw[wi] by their defining sums.
template <class T>
std::pair<RefAcc<T>, RefAcc<T>> ref_element(
    const kernels::ConvGeometry3d& g,
    char which,  // 'y' (x, w), 'x' (dy, w) or 'w' (x, dy)
    const T* a,
    const T* b,
    int64_t index) {
  const int64_t Cig = g.C_in_g(), Cog = g.C_out_g();
  RefAcc<T> val = 0, abs = 0;
  auto term = [&](RefAcc<T> t) {
    val += t;
    abs += std::abs(t);
  };
  auto x_at = [&](const T* x, int64_t n, int64_t c, const kernels::Int3& i) {
    return x
        [((n * g.C_in + c) * g.in[0] + i[0]) * g.in[1] * g.in[2] +
         i[1] * g.in[2] + i[2]];
  };
  auto y_at = [&](const T* y, int64_t n, int64_t c, const kernels::Int3& o) {
    return y
        [((n * g.C_out + c) * g.out[0] + o[0]) * g.out[1] * g.out[2] +
         o[1] * g.out[2] + o[2]];
  };
  auto w_at = [&](const T* w, int64_t co, int64_t ci, const kernels::Int3& t) {
    return w
        [((co * Cig + ci) * g.kernel[0] + t[0]) * g.kernel[1] * g.kernel[2] +
         t[1] * g.kernel[2] + t[2]];
  };
  // Input position that tap t of output position o reads, if any.
  auto tap = [&](const kernels::Int3& o, const kernels::Int3& t,
                 kernels::Int3& i) {
    for (int d = 0; d < 3; ++d) {
      i[d] = o[d] * g.stride[d] - g.padding[d] + t[d] * g.dilation[d];
      if (i[d] < 0 || i[d] >= g.in[d])
        return false;
    }
    return true;
  };
  auto split = [](int64_t flat, const kernels::Int3& dims, kernels::Int3& v) {
    v[2] = flat % dims[2];
    v[1] = flat / dims[2] % dims[1];
    v[0] = flat / dims[2] / dims[1] % dims[0];
  };
  kernels::Int3 o, i, t;
  const int64_t kvol = g.kernel_numel();
  if (which == 'y') {  // a = x, b = w
    const int64_t n = index / (g.C_out * g.out_numel());
    const int64_t co = index / g.out_numel() % g.C_out, grp = co / Cog;
    split(index, g.out, o);
    for (int64_t ci = 0; ci < Cig; ++ci)
      for (int64_t k = 0; k < kvol; ++k) {
        split(k, g.kernel, t);
        if (tap(o, t, i))
          term(
              RefAcc<T>(w_at(b, co, ci, t)) *
              RefAcc<T>(x_at(a, n, grp * Cig + ci, i)));
      }
  } else if (which == 'x') {  // a = dy, b = w: all (co, t, o) reaching i
    const int64_t n = index / (g.C_in * g.in_numel());
    const int64_t c = index / g.in_numel() % g.C_in, grp = c / Cig;
    kernels::Int3 want;
    split(index, g.in, want);
    for (int64_t co = grp * Cog; co < (grp + 1) * Cog; ++co)
      for (int64_t k = 0; k < kvol; ++k) {
        split(k, g.kernel, t);
        bool hit = true;  // o with o*s - p + t*dil == want on every axis
        for (int d = 0; d < 3; ++d) {
          const int64_t num = want[d] + g.padding[d] - t[d] * g.dilation[d];
          o[d] = num / g.stride[d];
          hit = hit && num >= 0 && num % g.stride[d] == 0 && o[d] < g.out[d];
        }
        if (hit && tap(o, t, i))
          term(
              RefAcc<T>(w_at(b, co, c - grp * Cig, t)) *
              RefAcc<T>(y_at(a, n, co, o)));
      }
  } else {  // a = x, b = dy
    const int64_t co = index / (Cig * kvol), ci = index / kvol % Cig;
    split(index, g.kernel, t);
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t q = 0; q < g.out_numel(); ++q) {
        split(q, g.out, o);
        if (tap(o, t, i))
          term(
              RefAcc<T>(y_at(b, n, co, o)) *
              RefAcc<T>(x_at(a, n, co / Cog * Cig + ci, i)));
      }
  }
  return {val, abs};
}

/// Index of the first element of `got` outside the rounding bound of `want`
/// (|got - want| <= 4 * terms * eps(T) * sum|products| + tiny), or -1.
/// `terms` bounds the number of products summed into one element.
template <class T>
int64_t first_mismatch(const T* got, const RefResult<T>& want, int64_t terms) {
  const long double eps = std::numeric_limits<T>::epsilon();
  for (size_t i = 0; i < want.val.size(); ++i) {
    const long double err =
        std::abs(static_cast<long double>(got[i]) - want.val[i]);
    const long double bound =
        4.0L * static_cast<long double>(terms + 1) * eps * want.abs[i] +
        std::numeric_limits<T>::min();
    if (!(err <= bound))
      return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace voxgrad::test
