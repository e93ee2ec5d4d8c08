#include "voxgrad/core/kernels/index.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "voxgrad/core/parallel.hpp"

namespace voxgrad::kernels {
namespace {

/// A raw contiguous copy (no autograd).
Tensor dense_copy(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype());
  out.copy_(t.detach());
  return out;
}

/// Calls f(base) for every line of `shape` along `dim` (all positions with
/// position[dim] = 0), in parallel; base[k] is the line's first element in
/// tensor k, whose strides are strides[k]. Lines are independent units of
/// work: each call is one whole line.
template <size_t K, class F>
void for_lines(
    const Shape& shape,
    int64_t dim,
    const std::array<Strides, K>& strides,
    F f) {
  Shape sizes;
  std::array<Strides, K> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) == dim)
      continue;
    sizes.push_back(shape[d]);
    for (size_t k = 0; k < K; ++k)
      st[k].push_back(strides[k][d]);
  }
  const int64_t lines = numel(sizes);
  const int64_t len = shape.empty() ? 1 : shape[static_cast<size_t>(dim)];
  if (lines == 0 || len == 0)
    return;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, len));
  parallel_for(0, lines, grain, [&](int64_t b, int64_t e) {
    std::vector<int64_t> pos(sizes.size(), 0);
    std::array<int64_t, K> base{};
    int64_t r = b;
    for (size_t d = sizes.size(); d-- > 0;) {
      pos[d] = r % sizes[d];
      r /= sizes[d];
      for (size_t k = 0; k < K; ++k)
        base[k] += pos[d] * st[k][d];
    }
    for (int64_t l = b; l < e; ++l) {
      f(base.data());
      for (size_t d = sizes.size(); d-- > 0;) {
        for (size_t k = 0; k < K; ++k)
          base[k] += st[k][d];
        if (++pos[d] < sizes[d])
          break;
        for (size_t k = 0; k < K; ++k)
          base[k] -= st[k][d] * sizes[d];
        pos[d] = 0;
      }
    }
  });
}

/// "[1, 2]": the position of flat element i of `shape`.
std::string position_str(const Shape& shape, int64_t i) {
  Shape pos(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    pos[d] = i % shape[d];
    i /= shape[d];
  }
  return shape_str(pos);
}

/// (outer, size, inner) of `shape` around `dim`.
std::array<int64_t, 3> around(const Shape& shape, int64_t dim) {
  std::array<int64_t, 3> r{1, shape.empty() ? 1 : shape[size_t(dim)], 1};
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) < dim)
      r[0] *= shape[d];
    else if (static_cast<int64_t>(d) > dim)
      r[2] *= shape[d];
  }
  return r;
}

int64_t stride_at(const Tensor& t, int64_t dim) {
  return t.dim() == 0 ? 0 : t.strides()[static_cast<size_t>(dim)];
}

}  // namespace

void check_index(
    const Tensor& index,
    int64_t size,
    const char* op,
    const char* arg,
    const char* what,
    std::optional<int64_t> ignore) {
  VOXGRAD_ASSERT(index.dtype() == kInt64);
  const bool has_skip = ignore.has_value();
  const int64_t skip = ignore.value_or(0);
  auto valid = [&](int64_t v) {
    return (v >= 0 && v < size) || (has_skip && v == skip);
  };
  const Tensor c = index.contiguous();
  const int64_t* p = c.data<int64_t>();
  const int64_t n = c.numel();
  // Validate in parallel blocks (each sets its own flag), then, only if
  // something is wrong, find the first bad element serially so the message
  // does not depend on the thread count.
  constexpr int64_t kBlock = 1 << 15;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<char> bad(static_cast<size_t>(blocks), 0);
  parallel_for(0, blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      const int64_t lo = blk * kBlock, hi = std::min(n, lo + kBlock);
      bool ok = true;
      for (int64_t i = lo; i < hi; ++i)
        ok &= valid(p[i]);
      bad[static_cast<size_t>(blk)] = !ok;
    }
  });
  if (std::find(bad.begin(), bad.end(), 1) == bad.end())
    return;
  for (int64_t i = 0; i < n; ++i) {
    VOXGRAD_CHECK(
        valid(p[i]), op, ": ", arg, " value ", p[i], " at position ",
        position_str(c.shape(), i), " is out of range for ", what, " of size ",
        size, " (need 0 <= ", arg, " < ", size,
        ignore ? detail::concat(", or ", arg, " == ignore_index ", *ignore)
               : std::string(),
        ")");
  }
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor out = empty(index.shape(), x.dtype());
  const int64_t len = index.dim() == 0 ? 1 : index.size(dim);
  const int64_t xs = stride_at(x, dim), is = stride_at(index, dim),
                os = stride_at(out, dim);
  const int64_t* pi = index.data<int64_t>();
  dispatch_all(x.dtype(), [&]<class T>() {
    const T* px = x.data<T>();
    T* po = out.mutable_data<T>();
    const std::array<Strides, 3> st{
        out.strides(), x.strides(), index.strides()};
    for_lines<3>(index.shape(), dim, st, [&](const int64_t* base) {
      for (int64_t j = 0; j < len; ++j)
        po[base[0] + j * os] = px[base[1] + pi[base[2] + j * is] * xs];
    });
  });
  return out;
}

Tensor scatter(
    const Tensor& self,
    int64_t dim,
    const Tensor& index,
    const Tensor& src,
    bool add) {
  Tensor out = dense_copy(self);
  const int64_t len = index.dim() == 0 ? 1 : index.size(dim);
  const int64_t os = stride_at(out, dim), ss = stride_at(src, dim),
                is = stride_at(index, dim);
  const int64_t* pi = index.data<int64_t>();
  dispatch_all(self.dtype(), [&]<class T>() {
    const T* ps = src.data<T>();
    T* po = out.mutable_data<T>();
    const std::array<Strides, 3> st{
        out.strides(), src.strides(), index.strides()};
    // One line of index writes one line of out: lines are disjoint, and
    // within a line j ascends (NOTE [ Deterministic scatter-add ]).
    for_lines<3>(index.shape(), dim, st, [&](const int64_t* base) {
      for (int64_t j = 0; j < len; ++j) {
        T& o = po[base[0] + pi[base[2] + j * is] * os];
        const T v = ps[base[1] + j * ss];
        if (add)
          o += v;
        else
          o = v;
      }
    });
  });
  return out;
}

Tensor scatter_value(
    const Tensor& self, int64_t dim, const Tensor& index, double value) {
  Tensor out = dense_copy(self);
  const int64_t len = index.dim() == 0 ? 1 : index.size(dim);
  const int64_t os = stride_at(out, dim), is = stride_at(index, dim);
  const int64_t* pi = index.data<int64_t>();
  dispatch_all(self.dtype(), [&]<class T>() {
    T* po = out.mutable_data<T>();
    const T v = static_cast<T>(value);
    const std::array<Strides, 2> st{out.strides(), index.strides()};
    for_lines<2>(index.shape(), dim, st, [&](const int64_t* base) {
      for (int64_t j = 0; j < len; ++j)
        po[base[0] + pi[base[1] + j * is] * os] = v;
    });
  });
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  const Tensor xc = x.contiguous();
  const Tensor ic = index.contiguous();
  const auto oi = around(x.shape(), dim);
  // Plain variables: clang 14 cannot capture structured bindings.
  const int64_t outer = oi[0], size = oi[1], inner = oi[2];
  const int64_t n = ic.numel();
  Shape shape = x.shape();
  if (!shape.empty())
    shape[static_cast<size_t>(dim)] = n;
  Tensor out = empty(shape, x.dtype());
  const int64_t* pi = ic.data<int64_t>();
  dispatch_all(x.dtype(), [&]<class T>() {
    const T* px = xc.data<T>();
    T* po = out.mutable_data<T>();
    const int64_t grain =
        std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner));
    parallel_for(0, outer * n, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t o = r / n, j = r % n;
        const T* from = px + (o * size + pi[j]) * inner;
        std::copy(from, from + inner, po + r * inner);
      }
    });
  });
  return out;
}

Tensor index_add(
    const Tensor& self,
    int64_t dim,
    const Tensor& index,
    const Tensor& source,
    double alpha) {
  Tensor out = dense_copy(self);
  const Tensor sc = source.contiguous();
  const Tensor ic = index.contiguous();
  const auto oi = around(self.shape(), dim);
  const int64_t outer = oi[0], size = oi[1], inner = oi[2];
  const int64_t n = ic.numel();
  const int64_t* pi = ic.data<int64_t>();
  // Stable counting sort of the source rows by destination: rows j of
  // group t are order[start[t] .. start[t + 1]), ascending.
  std::vector<int64_t> start(static_cast<size_t>(size) + 1, 0),
      order(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    ++start[static_cast<size_t>(pi[j]) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t j = 0; j < n; ++j)
      order[static_cast<size_t>(fill[static_cast<size_t>(pi[j])]++)] = j;
  }
  dispatch(self.dtype(), [&]<class T>() {
    const T* ps = sc.data<T>();
    T* po = out.mutable_data<T>();
    const T a = static_cast<T>(alpha);
    const int64_t grain =
        std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner));
    parallel_for(0, outer * size, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t o = r / size, t = r % size;
        T* dst = po + r * inner;
        for (int64_t k = start[size_t(t)]; k < start[size_t(t) + 1]; ++k) {
          const T* from = ps + (o * n + order[static_cast<size_t>(k)]) * inner;
          if (alpha == 1.0) {
            for (int64_t i = 0; i < inner; ++i)
              dst[i] += from[i];
          } else {
            for (int64_t i = 0; i < inner; ++i)
              dst[i] += a * from[i];
          }
        }
      }
    });
  });
  return out;
}

Tensor arg_extreme(const Tensor& x, int64_t dim, bool max) {
  const Tensor xc = x.contiguous();
  const auto oi = around(x.shape(), dim);
  const int64_t outer = oi[0], size = oi[1], inner = oi[2];
  Shape shape = x.shape();
  if (!shape.empty())
    shape[static_cast<size_t>(dim)] = 1;
  Tensor out = empty(shape, kInt64);
  int64_t* po = out.mutable_data<int64_t>();
  dispatch(x.dtype(), [&]<class T>() {
    const T* px = xc.data<T>();
    const int64_t grain =
        std::max<int64_t>(1, 16384 / std::max<int64_t>(1, size));
    parallel_for(0, outer * inner, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t o = r / inner, i = r % inner;
        const T* p = px + o * size * inner + i;
        T best = p[0];
        int64_t at = 0;
        // The first NaN wins; otherwise the first strict improvement.
        for (int64_t k = 1; k < size && !std::isnan(best); ++k) {
          const T v = p[k * inner];
          if (std::isnan(v) || (max ? v > best : v < best)) {
            best = v;
            at = k;
          }
        }
        po[r] = at;
      }
    });
  });
  return out;
}

Tensor segment_argmax(const Tensor& rows, const std::vector<int64_t>& starts) {
  const Tensor rc = rows.contiguous();
  const int64_t segments = static_cast<int64_t>(starts.size()) - 1;
  const int64_t dim = rc.size(1);
  Tensor out = empty({segments, dim}, kInt64);
  int64_t* po = out.mutable_data<int64_t>();
  dispatch(rc.dtype(), [&]<class T>() {
    const T* pr = rc.data<T>();
    parallel_for(0, segments, 1, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s) {
        const int64_t r0 = starts[size_t(s)], r1 = starts[size_t(s) + 1];
        for (int64_t d = 0; d < dim; ++d) {
          int64_t at = r0 < r1 ? r0 : -1;
          for (int64_t r = r0 + 1; r < r1 && !std::isnan(pr[at * dim + d]);
               ++r) {
            const T v = pr[r * dim + d];
            if (std::isnan(v) || v > pr[at * dim + d])
              at = r;
          }
          po[s * dim + d] = at;
        }
      }
    });
  });
  return out;
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  const Tensor lc = labels.contiguous();
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, kInt64);
  int64_t* po = out.mutable_data<int64_t>();
  const int64_t* pl = lc.data<int64_t>();
  parallel_for(0, lc.numel(), 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      po[i * num_classes + pl[i]] = 1;
  });
  return out;
}

Tensor topk_indices(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  const Tensor xc = x.contiguous();
  const auto oi = around(x.shape(), dim);
  const int64_t outer = oi[0], size = oi[1], inner = oi[2];
  Shape shape = x.shape();
  if (!shape.empty())
    shape[static_cast<size_t>(dim)] = k;
  Tensor out = empty(shape, kInt64);
  int64_t* po = out.mutable_data<int64_t>();
  dispatch(x.dtype(), [&]<class T>() {
    const T* px = xc.data<T>();
    parallel_for(0, outer * inner, 1, [&](int64_t b, int64_t e) {
      std::vector<int64_t> pos(static_cast<size_t>(size));
      for (int64_t r = b; r < e; ++r) {
        const int64_t o = r / inner, i = r % inner;
        const T* p = px + o * size * inner + i;
        // A strict weak order: NaN beyond every number, then by value, then
        // by position.
        auto before = [&](int64_t a, int64_t c) {
          const T va = p[a * inner], vc = p[c * inner];
          const bool na = std::isnan(va), nc = std::isnan(vc);
          if (na != nc)
            return largest ? na : nc;
          if (!na && va != vc)
            return largest ? va > vc : va < vc;
          return a < c;
        };
        std::iota(pos.begin(), pos.end(), int64_t{0});
        std::partial_sort(pos.begin(), pos.begin() + k, pos.end(), before);
        for (int64_t j = 0; j < k; ++j)
          po[(o * k + j) * inner + i] = pos[static_cast<size_t>(j)];
      }
    });
  });
  return out;
}

}  // namespace voxgrad::kernels
