// Reductions: the split of axes into kept and reduced ones and the fixed
// blocking here; the loops in reduce_impl.hpp, compiled per instruction set
// (NOTE [ ISA dispatch ] in isa.hpp, NOTE [ Sums independent of the ISA ] in
// reduce_impl.hpp).

#include "voxgrad/core/kernels/reduce.hpp"

#include <algorithm>
#include <cmath>

#include "voxgrad/core/kernels/reduce_impl.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const ReduceTable<T>& reduce_generic() {
  static constexpr ReduceTable<T> kTable =
      make_reduce_table<T, xsimd::default_arch>("generic");
  return kTable;
}
template const ReduceTable<float>& reduce_generic<float>();
template const ReduceTable<double>& reduce_generic<double>();

}  // namespace detail

namespace {

constexpr int64_t kBlock = int64_t{1} << 16;  // reduced elements per work unit

struct Layout {
  Shape kept_sizes, red_sizes;
  Strides kept_strides, red_strides;
};

// Kept axes in order; reduced axes innermost = smallest stride, then merged
// where they form contiguous runs.
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

/// True when the kept axes (size > 1) form one run of stride 1 in x.
bool kept_contiguous(const Layout& l) {
  int64_t expected = 1;
  for (size_t i = l.kept_sizes.size(); i-- > 0;) {
    if (l.kept_sizes[i] == 1)
      continue;
    if (l.kept_strides[i] != expected)
      return false;
    expected *= l.kept_sizes[i];
  }
  return true;
}

template <class T>
const detail::ReduceTable<T>& table() {
  return pick_isa(
      &detail::reduce_generic<T>, &detail::reduce_avx2<T>,
      &detail::reduce_avx512<T>);
}

template <class T>
Tensor reduce_t(
    ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes) {
  Shape out_shape = x.shape();
  for (int64_t a : axes)
    out_shape[static_cast<size_t>(a)] = 1;
  Tensor out = empty(out_shape, x.dtype());
  const Layout l = split_axes(x, axes);
  detail::ReduceArgs<T> args;
  args.x = x.data<T>();
  args.sum = op == ReduceOp::Sum;
  args.nk = static_cast<int64_t>(l.kept_sizes.size());
  args.nr = static_cast<int64_t>(l.red_sizes.size());
  args.kept_sizes = l.kept_sizes.data();
  args.kept_strides = l.kept_strides.data();
  args.red_sizes = l.red_sizes.data();
  args.red_strides = l.red_strides.data();
  args.nout = out.numel();
  args.rlen = numel(l.red_sizes);
  // Few outputs: split each one's reduction into fixed blocks (combined in
  // order below), so that long reductions still run in parallel.
  args.blocks = args.nout >= 8
                    ? 1
                    : std::max<int64_t>(1, (args.rlen + kBlock - 1) / kBlock);
  args.per_block = args.blocks == 1 ? args.rlen : kBlock;
  std::vector<double> partial(static_cast<size_t>(args.nout * args.blocks));
  if (args.nout == 0) {
    // nothing to compute
  } else if (
      args.sum && args.blocks == 1 && l.red_strides.back() != 1 &&
      kept_contiguous(l)) {
    table<T>().sum_outer(args, partial.data());
  } else {
    table<T>().reduce(args, partial.data());
  }
  T* po = out.mutable_data<T>();
  const int64_t nb = args.blocks;
  for (int64_t o = 0; o < args.nout; ++o) {
    double acc = partial[static_cast<size_t>(o * nb)];
    for (int64_t b = 1; b < nb; ++b) {
      const double v = partial[static_cast<size_t>(o * nb + b)];
      if (args.sum) {
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
  profiler::Scope scope(
      op == ReduceOp::Sum ? "sum" : "amax", profiler::Kind::Op,
      x.numel() * static_cast<int64_t>(itemsize(x.dtype())));
  return dispatch(
      x.dtype(), [&]<class T>() { return reduce_t<T>(op, x, axes); });
}

}  // namespace voxgrad::kernels
