// The three conv3d kernels: ISA dispatch and the per-axis index maps that
// drive the engines (conv3d_engine_impl.hpp, compiled once per instruction
// set); see NOTE [ Conv adjointness ] in conv3d.hpp and NOTE [ Conv engine ]
// in conv3d_engine_impl.hpp.

#include "voxgrad/core/kernels/conv3d.hpp"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/kernels/conv3d_engine_impl.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const ConvEngines<T>& conv_engines_generic() {
  static constexpr ConvEngines<T> kTable =
      make_engines<T, xsimd::default_arch>("generic");
  return kTable;
}
template const ConvEngines<float>& conv_engines_generic<float>();
template const ConvEngines<double>& conv_engines_generic<double>();

namespace {

std::atomic<Isa> g_forced_isa{Isa::Auto};

bool cpu_supports(Isa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  if (isa == Isa::Avx512)
    return __builtin_cpu_supports("avx512f");
  if (isa == Isa::Avx2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == Isa::Generic || isa == Isa::Auto;
}

template <class T>
const ConvEngines<T>& pick_engines() {
  Isa isa = g_forced_isa.load(std::memory_order_relaxed);
  if (isa == Isa::Auto) {
    isa = cpu_supports(Isa::Avx512) ? Isa::Avx512
          : cpu_supports(Isa::Avx2) ? Isa::Avx2
                                    : Isa::Generic;
  }
  if (isa == Isa::Avx512)
    return conv_engines_avx512<T>();
  if (isa == Isa::Avx2)
    return conv_engines_avx2<T>();
  return conv_engines_generic<T>();
}

}  // namespace

namespace {
std::atomic<int64_t> g_workspace_live{0}, g_workspace_peak{0};
}  // namespace

void workspace_track(int64_t bytes) {
  const int64_t now =
      g_workspace_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  int64_t peak = g_workspace_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_workspace_peak.compare_exchange_weak(
                           peak, now, std::memory_order_relaxed)) {
  }
}

void workspace_peak_reset() {
  g_workspace_peak.store(
      g_workspace_live.load(std::memory_order_relaxed),
      std::memory_order_relaxed);
}

int64_t workspace_peak() {
  return g_workspace_peak.load(std::memory_order_relaxed);
}

bool set_conv3d_isa(Isa isa) {
  if (!cpu_supports(isa))
    return false;
  g_forced_isa.store(isa, std::memory_order_relaxed);
  return true;
}

}  // namespace detail

namespace {

using detail::AxisView;
using detail::ClassView;

// One axis of a gather, owning its tap arrays (AxisView points into them).
struct AxisMap {
  int64_t n_pos = 0, src_len = 0, src_step = 1, dst_step = 1, dst_off = 0;
  std::vector<int64_t> tap, off, lo, hi;

  // Tap t reads src_step*j + offset; valid for j in [lo, hi).
  void add_tap(int64_t t, int64_t offset) {
    auto cdiv = [](int64_t a, int64_t b) {
      // Not (a + b - 1) / b: that overflows for a stride near INT64_MAX.
      return a >= 0 ? a / b + (a % b != 0) : -((-a) / b);
    };
    tap.push_back(t);
    off.push_back(offset);
    const int64_t l = std::clamp(cdiv(-offset, src_step), int64_t{0}, n_pos);
    lo.push_back(l);
    hi.push_back(std::clamp(cdiv(src_len - offset, src_step), l, n_pos));
  }
  AxisView view() const {
    AxisView v;
    v.n_pos = n_pos;
    v.src_len = src_len;
    v.src_step = src_step;
    v.dst_step = dst_step;
    v.dst_off = dst_off;
    v.n_taps = static_cast<int64_t>(tap.size());
    v.tap = tap.data();
    v.off = off.data();
    v.lo = lo.data();
    v.hi = hi.data();
    return v;
  }
};

// Conv direction along one axis: position j = output index o, reading
// x[o*s - p + t*dil] for every tap t, writing y[o].
AxisMap conv_axis(const ConvGeometry3d& g, int a) {
  AxisMap m;
  m.n_pos = g.out[a];
  m.src_len = g.in[a];
  m.src_step = g.stride[a];
  for (int64_t t = 0; t < g.kernel[a]; ++t)
    m.add_tap(t, t * g.dilation[a] - g.padding[a]);
  return m;
}

// Transposed direction along one axis, phase r: the input positions
// i = i0 + s*j with (i + p) mod s == r. Tap t reaches i from output
// o = (i + p - t*dil) / s iff t*dil == r (mod s), and then o = j + off_t
// with off_t = (i0 + p - t*dil) / s, an exact division.
AxisMap transposed_axis(const ConvGeometry3d& g, int a, int64_t r) {
  const int64_t s = g.stride[a], p = g.padding[a], dil = g.dilation[a];
  int64_t i0 = (r - p) % s;  // (x % s + s) % s would overflow for s ~ 2^63
  if (i0 < 0)
    i0 += s;
  AxisMap m;
  m.n_pos = i0 < g.in[a] ? (g.in[a] - 1 - i0) / s + 1 : 0;
  m.src_len = g.out[a];
  m.src_step = 1;
  m.dst_step = s;
  m.dst_off = i0;
  for (int64_t t = 0; t < g.kernel[a]; ++t)
    if ((r - t * dil) % s == 0)
      m.add_tap(t, (i0 + p - t * dil) / s);
  return m;
}

// The phases r in [0, s) of axis a that hold at least one input position,
// in increasing order: at most min(s, in) of them, so a huge stride costs
// nothing (enumerating all s phases hung for stride 2^61).
std::vector<int64_t> transposed_phases(const ConvGeometry3d& g, int a) {
  const int64_t s = g.stride[a], p = g.padding[a] % s;
  std::vector<int64_t> rs;
  for (int64_t i0 = 0; i0 < std::min(s, g.in[a]); ++i0)
    rs.push_back(i0 + p < s ? i0 + p : i0 + p - s);  // (i0 + p) mod s
  std::sort(rs.begin(), rs.end());
  return rs;
}

void fill_dims(int64_t (&d)[3], const Int3& v) {
  for (int a = 0; a < 3; ++a)
    d[a] = v[static_cast<size_t>(a)];
}

}  // namespace

/*
 * conv3d_fwd: y = A_w x (+ bias).
 *   x (N, C_in, in_d, in_h, in_w)          contiguous
 *   w (C_out, C_in/G, kd, kh, kw)          contiguous
 *   y (N, C_out, out_d, out_h, out_w)      contiguous, overwritten
 * One gather class: the rows are the group's output channels, the
 * reduction runs over (ci, kd, kh, kw) of the weight.
 */
template <class T>
void conv3d_fwd(
    const ConvGeometry3d& geometry,
    const T* x,
    const T* w,
    T* y,
    const T* bias) {
  geometry.validate("conv3d");
  const ConvGeometry3d g = geometry.canonical();
  AxisMap maps[3];
  ClassView cls;
  for (int a = 0; a < 3; ++a) {
    maps[a] = conv_axis(g, a);
    cls.ax[a] = maps[a].view();
  }
  const int64_t group_start[2] = {0, 1};
  detail::GatherArgs<T> args;
  args.N = g.N;
  args.G = g.groups;
  args.M = g.C_out_g();
  args.C_src = g.C_in_g();
  fill_dims(args.src_dims, g.in);
  fill_dims(args.dst_dims, g.out);
  fill_dims(args.kernel, g.kernel);
  args.w_rows_are_dst = true;
  args.classes = &cls;
  args.group_start = group_start;
  args.n_groups = 1;
  args.src = x;
  args.w = w;
  args.dst = y;
  args.bias = bias;
  detail::pick_engines<T>().gather(args);
}

/*
 * conv3d_bwd_data: dx = A_wᵀ dy (+ bias) (ConvTranspose3d's forward).
 *   dy (N, C_out, out_d, out_h, out_w)     contiguous
 *   w  (C_out, C_in/G, kd, kh, kw)         contiguous
 *   dx (N, C_in, in_d, in_h, in_w)         contiguous, overwritten
 * A gather over prod(stride) phase classes (see transposed_axis), grouped
 * by depth phase: rows are the group's input channels, the reduction runs
 * over (co, taps of the class). Positions no tap reaches (a class without
 * taps, or the trailing `extra` positions) get an empty sum: zero (+ bias).
 */
template <class T>
void conv3d_bwd_data(
    const ConvGeometry3d& geometry,
    const T* dy,
    const T* w,
    T* dx,
    const T* bias) {
  geometry.validate("conv3d_bwd_data");
  const ConvGeometry3d g = geometry.canonical();
  std::vector<AxisMap> phases[3];
  for (int a = 0; a < 3; ++a)
    for (int64_t r : transposed_phases(g, a))
      phases[a].push_back(transposed_axis(g, a, r));
  std::vector<ClassView> classes;
  std::vector<int64_t> group_start{0};
  for (const AxisMap& md : phases[0]) {
    if (md.n_pos == 0)
      continue;
    for (const AxisMap& mh : phases[1])
      for (const AxisMap& mw : phases[2]) {
        if (mh.n_pos == 0 || mw.n_pos == 0)
          continue;
        ClassView c;
        c.ax[0] = md.view();
        c.ax[1] = mh.view();
        c.ax[2] = mw.view();
        classes.push_back(c);
      }
    group_start.push_back(static_cast<int64_t>(classes.size()));
  }
  detail::GatherArgs<T> args;
  args.N = g.N;
  args.G = g.groups;
  args.M = g.C_in_g();
  args.C_src = g.C_out_g();
  fill_dims(args.src_dims, g.out);
  fill_dims(args.dst_dims, g.in);
  fill_dims(args.kernel, g.kernel);
  args.w_rows_are_dst = false;
  args.classes = classes.data();
  args.group_start = group_start.data();
  args.n_groups = static_cast<int64_t>(group_start.size()) - 1;
  args.src = dy;
  args.w = w;
  args.dst = dx;
  args.bias = bias;
  detail::pick_engines<T>().gather(args);
}

/*
 * conv3d_bwd_weight: dw[co, ci, t] = sum_{n, o} dy[n, co, o] *
 *                                    x[n, ci, o*s - p + t*dil]
 * (and dbias[co] = sum_{n, o} dy[n, co, o] if asked).
 *   x  (N, C_in, in_d, in_h, in_w)         contiguous
 *   dy (N, C_out, out_d, out_h, out_w)     contiguous
 *   dw (C_out, C_in/G, kd, kh, kw)         contiguous, overwritten
 */
template <class T>
void conv3d_bwd_weight(
    const ConvGeometry3d& geometry, const T* x, const T* dy, T* dw, T* dbias) {
  geometry.validate("conv3d_bwd_weight");
  const ConvGeometry3d g = geometry.canonical();
  AxisMap maps[3];
  detail::WgradArgs<T> args;
  for (int a = 0; a < 3; ++a) {
    maps[a] = conv_axis(g, a);
    args.conv.ax[a] = maps[a].view();
  }
  args.N = g.N;
  args.G = g.groups;
  args.Cig = g.C_in_g();
  args.Cog = g.C_out_g();
  fill_dims(args.in, g.in);
  fill_dims(args.out, g.out);
  fill_dims(args.kernel, g.kernel);
  args.x = x;
  args.dy = dy;
  args.dw = dw;
  args.dbias = dbias;
  detail::pick_engines<T>().wgrad(args);
}

const char* conv3d_isa() {
  return detail::pick_engines<float>().name;
}

#define VOXGRAD_INSTANTIATE(T)                                  \
  template void conv3d_fwd<T>(                                  \
      const ConvGeometry3d&, const T*, const T*, T*, const T*); \
  template void conv3d_bwd_data<T>(                             \
      const ConvGeometry3d&, const T*, const T*, T*, const T*); \
  template void conv3d_bwd_weight<T>(                           \
      const ConvGeometry3d&, const T*, const T*, T*, T*);
VOXGRAD_INSTANTIATE(float)
VOXGRAD_INSTANTIATE(double)
#undef VOXGRAD_INSTANTIATE

}  // namespace voxgrad::kernels
