// See NOTE [ Conv padding modes ] in padded_conv.hpp.

#include "voxgrad/core/kernels/padded_conv.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/kernels/pad3d.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::kernels {

ConvGeometry3d zero_padding_geometry(const ConvGeometry3d& g) {
  ConvGeometry3d g0 = g;
  for (size_t a = 0; a < 3; ++a) {
    g0.in[a] = g.in[a] + 2 * g.padding[a];
    g0.padding[a] = 0;
  }
  return g0;
}

namespace {

Pad3dGeometry pad_geometry(
    const ConvGeometry3d& g, PaddingMode mode, int64_t channels) {
  Pad3dGeometry p;
  p.planes = g.N * channels;
  p.in = g.in;
  p.lo = g.padding;
  p.hi = g.padding;
  p.mode = mode;
  return p;
}

/// An uninitialised workspace from the tensor allocator, whose cache of
/// large blocks spares a training loop the page faults of fresh memory.
template <class T>
struct Buffer {
  Tensor t;
  explicit Buffer(int64_t n) : t(empty({n}, dtype_of<T>())) {}
  T* get() {
    return t.mutable_data<T>();
  }
};

/// dst[p][i][j][k] = src[p][i][j][k] over `planes` x dims, each side with its
/// own plane stride and (i, j, k) strides (axis permutations and sub-boxes
/// of small slabs and weights).
template <class T>
void copy_box(
    int64_t planes,
    const Int3& dims,
    const T* src,
    int64_t src_plane,
    const Int3& src_stride,
    T* dst,
    int64_t dst_plane,
    const Int3& dst_stride) {
  const int64_t per_plane = dims[0] * dims[1] * dims[2];
  if (planes == 0 || per_plane == 0)
    return;
  const int64_t grain = std::max<int64_t>(1, 16384 / per_plane);
  if (src_stride[2] == 1 && dst_stride[2] == 1 && dims[2] >= 16) {
    parallel_for(0, planes, grain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        for (int64_t i = 0; i < dims[0]; ++i)
          for (int64_t j = 0; j < dims[1]; ++j) {
            const T* s =
                src + p * src_plane + i * src_stride[0] + j * src_stride[1];
            std::copy(
                s, s + dims[2],
                dst + p * dst_plane + i * dst_stride[0] + j * dst_stride[1]);
          }
    });
    return;
  }
  // Short or strided rows (permuted weights, thin slabs): one offset table
  // for a plane, then a flat loop per plane.
  std::vector<int64_t> so, dof;
  so.reserve(static_cast<size_t>(per_plane));
  dof.reserve(static_cast<size_t>(per_plane));
  for (int64_t i = 0; i < dims[0]; ++i)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t k = 0; k < dims[2]; ++k) {
        so.push_back(i * src_stride[0] + j * src_stride[1] + k * src_stride[2]);
        dof.push_back(
            i * dst_stride[0] + j * dst_stride[1] + k * dst_stride[2]);
      }
  parallel_for(0, planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* s = src + p * src_plane;
      T* d = dst + p * dst_plane;
      for (size_t k = 0; k < so.size(); ++k)
        d[dof[k]] = s[so[k]];
    }
  });
}

/// ceil(a / b) for b > 0 and any sign of a.
int64_t ceil_div_any(int64_t a, int64_t b) {
  return a >= 0 ? a / b + (a % b != 0) : -((-a) / b);
}

/// How one axis of a halo slab's transposed conv reads dy and the weight,
/// and where its output lies in padded coordinates: dy positions
/// [j0, j0 + m), kernel taps [t0, t0 + k), crop `pad` on each side, output
/// extent `in`, output position r = padded position origin + r.
struct SubAxis {
  int64_t j0 = 0, m = 0, t0 = 0, k = 0, pad = 0, in = 0, origin = 0;
};

enum class Window { Lo, Hi, Mid, Full };

/// Axis a of the slab covering `w` of A_0ᵀ dy, whose padded extent is
/// L = in + 2p: Lo [0, p), Hi [p + in, L), Mid [p, p + in), Full [0, L).
/// nullopt when no tap reaches the window (the slab is zero).
std::optional<SubAxis> sub_axis(const ConvGeometry3d& g, size_t a, Window w) {
  const int64_t n = g.in[a], p = g.padding[a], s = g.stride[a];
  const int64_t d = g.dilation[a], k = g.kernel[a], m = g.out[a];
  if (w == Window::Mid)
    return SubAxis{0, m, 0, k, p, n, p};
  if (w == Window::Full)
    return SubAxis{0, m, 0, k, 0, n + 2 * p, 0};
  // The bounding box of the (dy position j, tap t) pairs landing in [lo, hi)
  // of the padded axis (position s*j + d*t): every tap of the window is in
  // it, and the box's other taps land outside the window and are dropped.
  const int64_t lo = w == Window::Lo ? 0 : p + n;
  const int64_t hi = w == Window::Lo ? p : n + 2 * p;
  int64_t j0 = m, j1 = 0, t0 = k, t1 = 0;
  for (int64_t t = 0; t < k; ++t) {
    const int64_t a0 = std::max<int64_t>(0, ceil_div_any(lo - d * t, s));
    const int64_t a1 = std::min(m, ceil_div_any(hi - d * t, s));
    if (a0 < a1) {
      j0 = std::min(j0, a0);
      j1 = std::max(j1, a1);
      t0 = std::min(t0, t);
      t1 = t + 1;
    }
  }
  if (j0 >= j1)
    return std::nullopt;
  SubAxis r{j0, j1 - j0, t0, t1 - t0, 0, 0, s * j0 + d * t0};
  r.in = (r.m - 1) * s + d * (r.k - 1) + 1;
  return r;
}

Int3 contiguous3(const Int3& dims) {
  return {dims[1] * dims[2], dims[2], 1};
}

/// Computes the halo slab of A_0ᵀ dy over `win` (per original axis) into
/// `slab` (planes N*C_in, window extents, contiguous), with the slab's thin
/// axis `perm[0]` as the transposed conv's depth.
template <class T>
void halo_slab(
    const ConvGeometry3d& g,
    const std::array<Window, 3>& win,
    const std::array<size_t, 3>& perm,
    const T* dy,
    const T* w,
    T* slab) {
  Int3 wlo{}, wext{};
  std::array<SubAxis, 3> ax;
  bool empty = false;
  for (size_t a = 0; a < 3; ++a) {
    const int64_t n = g.in[a], p = g.padding[a];
    wlo[a] = win[a] == Window::Lo || win[a] == Window::Full
                 ? 0
                 : (win[a] == Window::Mid ? p : p + n);
    wext[a] =
        win[a] == Window::Full ? n + 2 * p : (win[a] == Window::Mid ? n : p);
    const std::optional<SubAxis> sa = sub_axis(g, a, win[a]);
    empty = empty || !sa;
    if (sa)
      ax[a] = *sa;
  }
  const int64_t planes = g.N * g.C_in;
  const int64_t slab_numel = planes * wext[0] * wext[1] * wext[2];
  if (slab_numel == 0)
    return;
  std::fill(slab, slab + slab_numel, T(0));
  if (empty)
    return;
  // The transposed conv of the slice, in permuted axis order.
  ConvGeometry3d sub = g;
  Int3 dy_ext{}, k_ext{}, in_ext{};
  for (size_t i = 0; i < 3; ++i) {
    const SubAxis& s = ax[perm[i]];
    sub.out[i] = dy_ext[i] = s.m;
    sub.kernel[i] = k_ext[i] = s.k;
    sub.in[i] = in_ext[i] = s.in;
    sub.padding[i] = s.pad;
    sub.stride[i] = g.stride[perm[i]];
    sub.dilation[i] = g.dilation[perm[i]];
  }
  sub.validate("conv3d_bwd_data_padded (halo slab)");
  const Int3 dy_str = contiguous3(g.out), w_str = contiguous3(g.kernel);
  const Int3 slab_str = contiguous3(wext);
  Int3 dy_src_str{}, w_src_str{}, slab_dst_str{};
  int64_t dy_off = 0, w_off = 0;
  for (size_t i = 0; i < 3; ++i) {
    dy_src_str[i] = dy_str[perm[i]];
    w_src_str[i] = w_str[perm[i]];
    dy_off += ax[i].j0 * dy_str[i];
    w_off += ax[i].t0 * w_str[i];
  }
  const int64_t dy_planes = g.N * g.C_out, w_planes = g.C_out * g.C_in_g();
  const int64_t dy_n = dy_ext[0] * dy_ext[1] * dy_ext[2];
  const int64_t k_n = k_ext[0] * k_ext[1] * k_ext[2];
  const int64_t in_n = in_ext[0] * in_ext[1] * in_ext[2];
  Buffer<T> dys(dy_planes * dy_n), ws(w_planes * k_n), out(planes * in_n);
  copy_box<T>(
      dy_planes, dy_ext, dy + dy_off, g.out_numel(), dy_src_str, dys.get(),
      dy_n, contiguous3(dy_ext));
  copy_box<T>(
      w_planes, k_ext, w + w_off, g.kernel_numel(), w_src_str, ws.get(), k_n,
      contiguous3(k_ext));
  conv3d_bwd_data<T>(sub, dys.get(), ws.get(), out.get());
  // The part of the output inside the window, back in the original order.
  Int3 ov_dims{};
  int64_t src_off = 0, dst_off = 0;
  const Int3 out_str = contiguous3(in_ext);
  for (size_t i = 0; i < 3; ++i) {
    const size_t a = perm[i];
    const int64_t lo = std::max(ax[a].origin, wlo[a]);
    const int64_t hi = std::min(ax[a].origin + ax[a].in, wlo[a] + wext[a]);
    if (hi <= lo)
      return;
    ov_dims[i] = hi - lo;
    src_off += (lo - ax[a].origin) * out_str[i];
    dst_off += (lo - wlo[a]) * slab_str[a];
    slab_dst_str[i] = slab_str[a];
  }
  copy_box<T>(
      planes, ov_dims, out.get() + src_off, in_n, out_str, slab + dst_off,
      wext[0] * wext[1] * wext[2], slab_dst_str);
}

}  // namespace

template <class T>
void conv3d_fwd_padded(
    const ConvGeometry3d& g,
    PaddingMode mode,
    const T* x,
    const T* w,
    T* y,
    const T* bias) {
  if (mode == PaddingMode::Zeros) {
    conv3d_fwd<T>(g, x, w, y, bias);
    return;
  }
  g.validate("conv3d");
  const Pad3dGeometry pg = pad_geometry(g, mode, g.C_in);
  pg.validate("conv3d");
  const ConvGeometry3d g0 = zero_padding_geometry(g);
  Buffer<T> xp(g0.x_numel());
  pad3d<T>(pg, x, xp.get());
  conv3d_fwd<T>(g0, xp.get(), w, y, bias);
}

template <class T>
void conv3d_bwd_data_padded(
    const ConvGeometry3d& geom,
    PaddingMode mode,
    const T* dy,
    const T* w,
    T* dx,
    const T* bias) {
  if (mode == PaddingMode::Zeros) {
    conv3d_bwd_data<T>(geom, dy, w, dx, bias);
    return;
  }
  geom.validate("conv_transpose3d");
  const ConvGeometry3d g = geom.canonical();
  const Pad3dGeometry pg = pad_geometry(g, mode, g.C_in);
  pg.validate("conv_transpose3d");
  // The interior of A_0ᵀ dy is the zero-padding transposed conv.
  conv3d_bwd_data<T>(g, dy, w, dx, bias);
  if (g.x_numel() == 0)
    return;
  const Int3 L = pg.out();
  const int64_t planes = pg.planes;
  const int64_t H = g.in[1];
  const int64_t sizes[6] = {planes * L[0] * L[1] * g.padding[2],
                            planes * L[0] * L[1] * g.padding[2],
                            planes * L[0] * g.padding[1] * g.in[2],
                            planes * L[0] * g.padding[1] * g.in[2],
                            planes * g.padding[0] * H * g.in[2],
                            planes * g.padding[0] * H * g.in[2]};
  using W = Window;
  const std::array<Window, 3> wins[6] = {
      {W::Full, W::Full, W::Lo}, {W::Full, W::Full, W::Hi},
      {W::Full, W::Lo, W::Mid},  {W::Full, W::Hi, W::Mid},
      {W::Lo, W::Mid, W::Mid},   {W::Hi, W::Mid, W::Mid}};
  // Thin axis first: width slabs run as (w, d, h), height slabs as (h, d, w).
  const std::array<size_t, 3> perms[6] = {{2, 0, 1}, {2, 0, 1}, {1, 0, 2},
                                          {1, 0, 2}, {0, 1, 2}, {0, 1, 2}};
  std::vector<Buffer<T>> slabs;
  slabs.reserve(6);
  const T* ptr[6] = {};
  for (size_t i = 0; i < 6; ++i) {
    slabs.emplace_back(sizes[i]);
    if (sizes[i] == 0)
      continue;
    halo_slab<T>(g, wins[i], perms[i], dy, w, slabs[i].get());
    ptr[i] = slabs[i].get();
  }
  PadHalo<T> halo;
  halo.w_lo = ptr[0];
  halo.w_hi = ptr[1];
  halo.h_lo = ptr[2];
  halo.h_hi = ptr[3];
  halo.d_lo = ptr[4];
  halo.d_hi = ptr[5];
  pad3d_adjoint_halo<T>(pg, halo, dx);
}

#define VOXGRAD_INSTANTIATE(T)                                               \
  template void conv3d_fwd_padded<T>(                                        \
      const ConvGeometry3d&, PaddingMode, const T*, const T*, T*, const T*); \
  template void conv3d_bwd_data_padded<T>(                                   \
      const ConvGeometry3d&, PaddingMode, const T*, const T*, T*, const T*);
VOXGRAD_INSTANTIATE(float)
VOXGRAD_INSTANTIATE(double)
#undef VOXGRAD_INSTANTIATE

}  // namespace voxgrad::kernels
