// 3-D resampling: the per-axis index maps (PyTorch's index rules) are built
// here; the separable loop is in resample3d_impl.hpp, compiled per
// instruction set (NOTE [ ISA dispatch ] in isa.hpp).

#include "voxgrad/core/kernels/resample3d.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxgrad/core/kernels/resample3d_impl.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const ResampleTable<T>& resample3d_generic() {
  static constexpr ResampleTable<T> kTable =
      make_resample3d_table<T, xsimd::default_arch>("generic");
  return kTable;
}
template const ResampleTable<float>& resample3d_generic<float>();
template const ResampleTable<double>& resample3d_generic<double>();

}  // namespace detail

namespace {

/// One axis of a separable map in CSR form: output index o reads the input
/// indices idx[start[o] .. start[o + 1]) with weights w[...].
template <class T>
struct AxisMap {
  int64_t in = 0;
  int64_t out = 0;
  std::vector<int64_t> start;
  std::vector<int64_t> idx;
  std::vector<T> w;
  /// Every row is a single weight 1 (nearest forward): a pure gather.
  bool unit = false;
};

/// PyTorch 1.13's CPU nearest forward (compute_indices_weights_nearest for
/// contiguous NCDHW input): scale = 1/scale_factor or in/out and the product
/// in T, floored in float, clamped to in - 1. Note that its backward uses
/// nearest_idx instead, which maps o -> o whenever out == in even when a
/// scale_factor != 1 gave that size; here the backward is the exact adjoint
/// of this forward.
template <class T>
int64_t nearest_index(
    int64_t o, int64_t in, int64_t out, std::optional<double> scale) {
  const T s = scale && *scale > 0 ? static_cast<T>(1.0 / *scale)
                                  : static_cast<T>(in) / static_cast<T>(out);
  const T real = s * static_cast<T>(o);
  // Clamped before the conversion: a huge or non-finite index (scale 1e-300)
  // must not reach static_cast<int64_t>, where it is UB.
  const float f = std::floor(static_cast<float>(real));
  if (!(f < static_cast<float>(in - 1)))
    return in - 1;
  return f > 0 ? static_cast<int64_t>(f) : 0;
}

template <class T>
AxisMap<T> nearest_map(int64_t in, int64_t out, std::optional<double> scale) {
  AxisMap<T> m{in, out, {}, {}, {}, true};
  for (int64_t o = 0; o < out; ++o) {
    m.start.push_back(o);
    m.idx.push_back(nearest_index<T>(o, in, out, scale));
    m.w.push_back(T(1));
  }
  m.start.push_back(out);
  return m;
}

/// PyTorch's area_pixel_compute_scale + compute_source_index_and_lambda: the
/// ratio in T, the source index in double (CPU acc_type), clamped at 0 when
/// !align_corners, the upper neighbour clamped to in - 1.
template <class T>
AxisMap<T> linear_map(
    int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  T ratio;
  if (align_corners) {
    ratio = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  } else {
    ratio = scale && *scale > 0 ? static_cast<T>(1.0 / *scale)
                                : static_cast<T>(in) / static_cast<T>(out);
  }
  AxisMap<T> m{in, out, {}, {}, {}, false};
  for (int64_t o = 0; o < out; ++o) {
    int64_t i0 = o, i1 = o;
    T l0 = 1, l1 = 0;
    if (out != in) {
      const double r = static_cast<double>(ratio);
      double real = align_corners ? r * static_cast<double>(o)
                                  : r * (static_cast<double>(o) + 0.5) - 0.5;
      if (!align_corners && real < 0)
        real = 0;
      // An index at or past the end (only from a scale inconsistent with the
      // sizes) or NaN would read out of bounds or convert with UB.
      if (!(real < static_cast<double>(in)))
        real = static_cast<double>(in - 1);
      i0 = static_cast<int64_t>(real);
      i1 = i0 + (i0 < in - 1 ? 1 : 0);
      l1 = static_cast<T>(real - static_cast<double>(i0));
      l0 = T(1) - l1;
    }
    m.start.push_back(2 * o);
    m.idx.insert(m.idx.end(), {i0, i1});
    m.w.insert(m.w.end(), {l0, l1});
  }
  m.start.push_back(2 * out);
  return m;
}

/// The transposed map (rows = old inputs), entries in increasing old output.
template <class T>
AxisMap<T> transposed(const AxisMap<T>& m) {
  AxisMap<T> t{m.out, m.in, std::vector<int64_t>(m.in + 1, 0), {}, {}, false};
  for (int64_t i : m.idx)
    ++t.start[static_cast<size_t>(i + 1)];
  for (size_t i = 1; i < t.start.size(); ++i)
    t.start[i] += t.start[i - 1];
  t.idx.resize(m.idx.size());
  t.w.resize(m.w.size());
  std::vector<int64_t> cursor(t.start.begin(), t.start.end() - 1);
  for (int64_t o = 0; o < m.out; ++o) {
    for (int64_t k = m.start[o]; k < m.start[o + 1]; ++k) {
      const auto pos = static_cast<size_t>(cursor[m.idx[k]]++);
      t.idx[pos] = o;
      t.w[pos] = m.w[k];
    }
  }
  return t;
}

template <class T>
detail::AxisMapView<T> view(const AxisMap<T>& m) {
  return {m.in, m.out, m.start.data(), m.idx.data(), m.w.data(), m.unit};
}

}  // namespace

template <class T>
void resample3d(
    const T* src,
    T* dst,
    int64_t planes,
    const std::array<int64_t, 3>& src_size,
    const std::array<int64_t, 3>& dst_size,
    ResampleMode mode,
    bool align_corners,
    const std::array<std::optional<double>, 3>& scales,
    bool adjoint) {
  const bool nearest = mode == ResampleMode::Nearest;
  profiler::Scope scope(
      adjoint ? (nearest ? "upsample_nearest3d_backward"
                         : "upsample_trilinear3d_backward")
              : (nearest ? "upsample_nearest3d" : "upsample_trilinear3d"),
      profiler::Kind::Op,
      planes *
          (src_size[0] * src_size[1] * src_size[2] +
           dst_size[0] * dst_size[1] * dst_size[2]) *
          static_cast<int64_t>(sizeof(T)));
  std::vector<AxisMap<T>> maps;
  for (size_t a = 0; a < 3; ++a) {
    const int64_t from = adjoint ? dst_size[a] : src_size[a];
    const int64_t to = adjoint ? src_size[a] : dst_size[a];
    AxisMap<T> m = mode == ResampleMode::Nearest
                       ? nearest_map<T>(from, to, scales[a])
                       : linear_map<T>(from, to, align_corners, scales[a]);
    maps.push_back(adjoint ? transposed(m) : std::move(m));
  }
  // Which input rows the H map reads (the others need no W pass).
  std::vector<char> row_used(static_cast<size_t>(maps[1].in), 0);
  for (int64_t i : maps[1].idx)
    row_used[static_cast<size_t>(i)] = 1;
  detail::ResampleArgs<T> args;
  args.x = src;
  args.y = dst;
  args.planes = planes;
  args.d = view(maps[0]);
  args.h = view(maps[1]);
  args.w = view(maps[2]);
  args.row_used = row_used.data();
  pick_isa(
      &detail::resample3d_generic<T>, &detail::resample3d_avx2<T>,
      &detail::resample3d_avx512<T>)
      .apply(args);
}

#define VOXGRAD_INSTANTIATE(T)                              \
  template void resample3d<T>(                              \
      const T*, T*, int64_t, const std::array<int64_t, 3>&, \
      const std::array<int64_t, 3>&, ResampleMode, bool,    \
      const std::array<std::optional<double>, 3>&, bool);
VOXGRAD_INSTANTIATE(float)
VOXGRAD_INSTANTIATE(double)
#undef VOXGRAD_INSTANTIATE

}  // namespace voxgrad::kernels
