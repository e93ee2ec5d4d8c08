#include "voxgrad/core/kernels/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <xsimd/xsimd.hpp>

#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {
namespace {

constexpr int64_t kBlock = int64_t{1} << 16;  // reduced elements per work unit

// Sum of a contiguous run, in float SIMD pieces of 1024 added in double.
template <class T>
double sum_run(const T* p, int64_t n) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  double total = 0;
  for (int64_t j0 = 0; j0 < n; j0 += 1024) {
    const int64_t m = std::min<int64_t>(1024, n - j0);
    const T* q = p + j0;
    B a0(T(0)), a1(T(0));
    int64_t j = 0;
    for (; j + 2 * W <= m; j += 2 * W) {
      a0 += B::load_unaligned(q + j);
      a1 += B::load_unaligned(q + j + W);
    }
    T part = xsimd::hadd(a0 + a1);
    for (; j < m; ++j)
      part += q[j];
    total += static_cast<double>(part);
  }
  return total;
}

struct Layout {
  Shape kept_sizes, red_sizes;
  Strides kept_strides, red_strides;
};

Layout split_axes(const Tensor& x, const std::vector<int64_t>& axes) {
  Layout l;
  std::vector<bool> reduced(static_cast<size_t>(x.dim()), false);
  for (int64_t a : axes)
    reduced[static_cast<size_t>(a)] = true;
  std::vector<size_t> red;
  for (size_t i = 0; i < reduced.size(); ++i) {
    if (reduced[i]) {
      red.push_back(i);
    } else {
      l.kept_sizes.push_back(x.shape()[i]);
      l.kept_strides.push_back(x.strides()[i]);
    }
  }
  // Innermost = smallest stride, then merge axes that are contiguous runs.
  std::stable_sort(red.begin(), red.end(), [&](size_t a, size_t b) {
    return x.strides()[a] > x.strides()[b];
  });
  for (size_t i : red) {
    const int64_t n = x.shape()[i], s = x.strides()[i];
    if (n == 1)
      continue;
    if (!l.red_sizes.empty() && l.red_strides.back() == s * n) {
      l.red_sizes.back() *= n;
      l.red_strides.back() = s;
    } else {
      l.red_sizes.push_back(n);
      l.red_strides.push_back(s);
    }
  }
  if (l.red_sizes.empty()) {
    l.red_sizes.push_back(1);
    l.red_strides.push_back(0);
  }
  return l;
}

template <class T>
Tensor reduce_t(
    ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes) {
  Shape out_shape = x.shape();
  for (int64_t a : axes)
    out_shape[static_cast<size_t>(a)] = 1;
  Tensor out = empty(out_shape, x.dtype());
  const Layout l = split_axes(x, axes);
  const int64_t nout = out.numel();
  const int64_t rlen = numel(l.red_sizes);
  const int64_t inner = l.red_sizes.back(), inner_stride = l.red_strides.back();
  const int64_t nb =
      nout >= 8 ? 1 : std::max<int64_t>(1, (rlen + kBlock - 1) / kBlock);
  const int64_t per_block = nb == 1 ? rlen : kBlock;
  std::vector<double> partial(static_cast<size_t>(nout * nb));
  const T* px = x.data<T>();
  const size_t nk = l.kept_sizes.size(), nr = l.red_sizes.size();

  const int64_t grain =
      std::max<int64_t>(1, 32768 / std::max<int64_t>(1, per_block));
  parallel_for(0, nout * nb, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / nb, b = u % nb;
      int64_t base = 0, r = o;
      for (size_t i = nk; i-- > 0;) {
        base += (r % l.kept_sizes[i]) * l.kept_strides[i];
        r /= l.kept_sizes[i];
      }
      int64_t k = b * per_block;
      const int64_t kend = std::min(rlen, k + per_block);
      double acc = op == ReduceOp::Sum ? 0.0 : -INFINITY;
      while (k < kend) {
        // Offset of reduced index k, then a run along the innermost axis.
        int64_t off = base, rem = k / inner;
        for (size_t i = nr - 1; i-- > 0;) {
          off += (rem % l.red_sizes[i]) * l.red_strides[i];
          rem /= l.red_sizes[i];
        }
        const int64_t j0 = k % inner;
        const int64_t m = std::min(inner - j0, kend - k);
        const T* p = px + off + j0 * inner_stride;
        if (op == ReduceOp::Sum) {
          if (inner_stride == 1) {
            acc += sum_run(p, m);
          } else {
            for (int64_t j = 0; j < m; ++j)
              acc += static_cast<double>(p[j * inner_stride]);
          }
        } else {
          for (int64_t j = 0; j < m; ++j) {
            const double v = static_cast<double>(p[j * inner_stride]);
            if (v > acc || std::isnan(v))
              acc = v;
            if (std::isnan(acc))
              break;
          }
        }
        k += m;
      }
      partial[static_cast<size_t>(u)] = acc;
    }
  });
  T* po = out.mutable_data<T>();
  for (int64_t o = 0; o < nout; ++o) {
    double acc = partial[static_cast<size_t>(o * nb)];
    for (int64_t b = 1; b < nb; ++b) {
      const double v = partial[static_cast<size_t>(o * nb + b)];
      if (op == ReduceOp::Sum) {
        acc += v;
      } else if (v > acc || std::isnan(v)) {
        acc = v;
      }
    }
    po[o] = static_cast<T>(acc);
  }
  return out;
}

}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes) {
  return dispatch(
      x.dtype(), [&]<class T>() { return reduce_t<T>(op, x, axes); });
}

}  // namespace voxgrad::kernels
