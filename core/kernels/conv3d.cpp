// The three conv3d kernels: ISA dispatch and the per-axis index maps. The
// engines that run them (pack a panel, multiply, unpack) are in
// conv3d_engine.hpp; see NOTE [ Conv adjointness ] in conv3d.hpp.

#include "core/kernels/conv3d.hpp"

#include <atomic>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/conv3d_engine.hpp"
#include "core/kernels/conv3d_simd.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const MicroKernels<T>& microkernels_generic() {
  static constexpr MicroKernels<T> kTable =
      make_microkernels<T, xsimd::default_arch>("generic");
  return kTable;
}
template const MicroKernels<float>& microkernels_generic<float>();
template const MicroKernels<double>& microkernels_generic<double>();

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
const MicroKernels<T>& pick_microkernels() {
  Isa isa = g_forced_isa.load(std::memory_order_relaxed);
  if (isa == Isa::Auto) {
    isa = cpu_supports(Isa::Avx512) ? Isa::Avx512
          : cpu_supports(Isa::Avx2) ? Isa::Avx2
                                    : Isa::Generic;
  }
  if (isa == Isa::Avx512)
    return microkernels_avx512<T>();
  if (isa == Isa::Avx2)
    return microkernels_avx2<T>();
  return microkernels_generic<T>();
}

}  // namespace

bool set_conv3d_isa(Isa isa) {
  if (!cpu_supports(isa))
    return false;
  g_forced_isa.store(isa, std::memory_order_relaxed);
  return true;
}

}  // namespace detail

namespace {

using detail::AxisMap;
using detail::GatherClass;

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
  const int64_t i0 = ((r - p) % s + s) % s;
  AxisMap m;
  m.n_pos = i0 < g.in[a] ? (g.in[a] - 1 - i0) / s + 1 : 0;
  m.src_len = g.out[a];
  m.src_step = 1;
  m.dst_step = s;
  m.dst_off = i0;
  for (int64_t t = 0; t < g.kernel[a]; ++t)
    if (((r - t * dil) % s + s) % s == 0)
      m.add_tap(t, (i0 + p - t * dil) / s);
  return m;
}

}  // namespace

/*
 * conv3d_fwd: y = A_w x.
 *   x (N, C_in, in_d, in_h, in_w)          contiguous
 *   w (C_out, C_in/G, kd, kh, kw)          contiguous
 *   y (N, C_out, out_d, out_h, out_w)      contiguous, overwritten
 * One gather class: the GEMM rows are the group's output channels, the
 * reduction index is (ci, kd, kh, kw) in weight order, so the weight needs
 * no transposition. Tasks: (n, group, tile of output positions[, rows]).
 */
template <class T>
void conv3d_fwd(const ConvGeometry3d& g, const T* x, const T* w, T* y) {
  g.validate("conv3d");
  detail::GatherProblem prob;
  prob.N = g.N;
  prob.G = g.groups;
  prob.M = g.C_out_g();
  prob.C_src = g.C_in_g();
  prob.src_dims = g.in;
  prob.dst_dims = g.out;
  prob.kernel = g.kernel;
  prob.w_rows_are_dst = true;
  GatherClass c;
  for (int a = 0; a < 3; ++a)
    c.ax[a] = conv_axis(g, a);
  prob.classes.push_back(std::move(c));
  detail::run_gather(prob, x, w, y, detail::pick_microkernels<T>());
}

/*
 * conv3d_bwd_data: dx = A_wᵀ dy (ConvTranspose3d's forward).
 *   dy (N, C_out, out_d, out_h, out_w)     contiguous
 *   w  (C_out, C_in/G, kd, kh, kw)         contiguous
 *   dx (N, C_in, in_d, in_h, in_w)         contiguous, overwritten
 * A gather over prod(stride) phase classes (see transposed_axis): rows are
 * the group's input channels, the reduction index is (co, taps of the
 * class). Positions no tap reaches (empty class, or the trailing `extra`
 * positions) get an empty reduction and so an exact zero.
 * Tasks: (n, group, class, tile of that class's positions[, rows]).
 */
template <class T>
void conv3d_bwd_data(const ConvGeometry3d& g, const T* dy, const T* w, T* dx) {
  g.validate("conv3d_bwd_data");
  detail::GatherProblem prob;
  prob.N = g.N;
  prob.G = g.groups;
  prob.M = g.C_in_g();
  prob.C_src = g.C_out_g();
  prob.src_dims = g.out;
  prob.dst_dims = g.in;
  prob.kernel = g.kernel;
  prob.w_rows_are_dst = false;
  std::vector<AxisMap> phases[3];
  for (int a = 0; a < 3; ++a)
    for (int64_t r = 0; r < g.stride[a]; ++r)
      phases[a].push_back(transposed_axis(g, a, r));
  for (const AxisMap& md : phases[0])
    for (const AxisMap& mh : phases[1])
      for (const AxisMap& mw : phases[2]) {
        if (md.n_pos == 0 || mh.n_pos == 0 || mw.n_pos == 0)
          continue;
        GatherClass c;
        c.ax[0] = md;
        c.ax[1] = mh;
        c.ax[2] = mw;
        prob.classes.push_back(std::move(c));
      }
  detail::run_gather(prob, dy, w, dx, detail::pick_microkernels<T>());
}

/*
 * conv3d_bwd_weight: dw[co, ci, t] = sum_{n, o} dy[n, co, o] *
 *                                    x[n, ci, o*s - p + t*dil].
 *   x  (N, C_in, in_d, in_h, in_w)         contiguous
 *   dy (N, C_out, out_d, out_h, out_w)     contiguous
 *   dw (C_out, C_in/G, kd, kh, kw)         contiguous, overwritten
 * Tasks: (group, block of (ci, kd, kh, kw) columns[, block of co]); the
 * (n, output position) reduction runs inside each task, in order.
 */
template <class T>
void conv3d_bwd_weight(
    const ConvGeometry3d& g, const T* x, const T* dy, T* dw) {
  g.validate("conv3d_bwd_weight");
  detail::WgradProblem prob;
  prob.g = g;
  for (int a = 0; a < 3; ++a)
    prob.ax[a] = conv_axis(g, a);
  detail::run_wgrad(prob, x, dy, dw, detail::pick_microkernels<T>());
}

const char* conv3d_isa() {
  return detail::pick_microkernels<float>().name;
}

#define VOXGRAD_INSTANTIATE(T)                                                \
  template void conv3d_fwd<T>(const ConvGeometry3d&, const T*, const T*, T*); \
  template void conv3d_bwd_data<T>(                                           \
      const ConvGeometry3d&, const T*, const T*, T*);                         \
  template void conv3d_bwd_weight<T>(                                         \
      const ConvGeometry3d&, const T*, const T*, T*);
VOXGRAD_INSTANTIATE(float)
VOXGRAD_INSTANTIATE(double)
#undef VOXGRAD_INSTANTIATE

}  // namespace voxgrad::kernels
