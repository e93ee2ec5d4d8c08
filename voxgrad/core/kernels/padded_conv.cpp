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

/// An affine copy: for plane p = a*Q + b (a = p / Q, b = p % Q), every
/// (so, dof) of `pairs` and i < len,
///   dst[a*d1 + b*d2 + dof + i] = src[a*s1 + b*s2 + so + i].
/// The halo pieces' slices of dy and w, and their results, are such copies
/// (planes: (sample, channel) pairs, or the weight's (c_out, c_in) pairs);
/// the boxes with one set of strides and one row length share a group.
struct CopyGroup {
  int64_t s1, s2, d1, d2, len;
  std::vector<std::pair<int64_t, int64_t>> pairs;
};

/// Adds the box dims (i, j, k) with the given strides from offset (s0, d0)
/// to the group of its plane strides (s1, s2, d1, d2): as rows of dims[2]
/// values where both sides are contiguous along k, else value by value.
void add_box(
    std::vector<CopyGroup>& groups,
    const Int3& dims,
    int64_t s0,
    const Int3& s_str,
    int64_t s1,
    int64_t s2,
    int64_t d0,
    const Int3& d_str,
    int64_t d1,
    int64_t d2) {
  const bool rows = s_str[2] == 1 && d_str[2] == 1;
  const int64_t len = rows ? dims[2] : 1;
  auto it = std::find_if(groups.begin(), groups.end(), [&](const CopyGroup& c) {
    return c.s1 == s1 && c.s2 == s2 && c.d1 == d1 && c.d2 == d2 && c.len == len;
  });
  if (it == groups.end()) {
    groups.push_back({s1, s2, d1, d2, len, {}});
    it = groups.end() - 1;
  }
  for (int64_t i = 0; i < dims[0]; ++i)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t k = 0; k < dims[2]; k += len)
        it->pairs.push_back(
            {s0 + i * s_str[0] + j * s_str[1] + k * s_str[2],
             d0 + i * d_str[0] + j * d_str[1] + k * d_str[2]});
}

/// Carries out the groups for planes [0, planes) in one parallel loop (a
/// piece's slices are small: a loop per piece would cost more in thread
/// wake-ups and per-plane bookkeeping than in copying). Each plane reads
/// one source plane's values together, so the strided reads of the width
/// pieces share its cache lines; within a group every row has one length,
/// so the loops have no data-dependent branches. Pure copies: any split
/// gives the same bits.
template <class T>
void copy_groups(
    int64_t planes,
    int64_t Q,
    const T* src,
    T* dst,
    const std::vector<CopyGroup>& groups) {
  int64_t per_plane = 0;
  for (const CopyGroup& c : groups)
    per_plane += static_cast<int64_t>(c.pairs.size()) * c.len;
  if (planes == 0 || per_plane == 0)
    return;
  const int64_t grain = std::max<int64_t>(1, 16384 / per_plane);
  parallel_for(0, planes, grain, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) {
      const int64_t a = p / Q, b = p % Q;
      for (const CopyGroup& c : groups) {
        const T* sp = src + a * c.s1 + b * c.s2;
        T* dp = dst + a * c.d1 + b * c.d2;
        if (c.len == 1) {
          for (const auto& [so, dof] : c.pairs)
            dp[dof] = sp[so];
        } else {
          // Short rows (16 or 32 values): an inline loop, not a memmove
          // call per row.
          const int64_t len = c.len;
          for (const auto& [so, dof] : c.pairs) {
            const T* sr = sp + so;
            T* dr = dp + dof;
            for (int64_t i = 0; i < len; ++i)
              dr[i] = sr[i];
          }
        }
      }
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

enum class Window { Lo, Mid, Hi };

/// Axis a of the piece covering `w` of A_0ᵀ dy, whose padded extent is
/// L = in + 2p: Lo [0, p), Mid [p, p + in), Hi [p + in, L). nullopt when
/// no tap reaches the window (the piece is zero).
std::optional<SubAxis> sub_axis(const ConvGeometry3d& g, size_t a, Window w) {
  const int64_t n = g.in[a], p = g.padding[a], s = g.stride[a];
  const int64_t d = g.dilation[a], k = g.kernel[a], m = g.out[a];
  if (w == Window::Mid)
    return SubAxis{0, m, 0, k, p, n, p};
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

/// The six slabs of PadHalo (pad3d.hpp) that the halo of A_0ᵀ dy is
/// folded from, in the order w_lo, w_hi, h_lo, h_hi, d_lo, d_hi: their
/// extents and where each starts in padded coordinates.
struct HaloSlabs {
  std::array<Int3, 6> dims{}, origin{};
  std::array<int64_t, 6> offset{};  // values before the slab in the buffer
  int64_t plane(size_t s) const {
    return dims[s][0] * dims[s][1] * dims[s][2];
  }
};

HaloSlabs halo_slabs(const ConvGeometry3d& g) {
  const Int3& n = g.in;
  const Int3& p = g.padding;
  const Int3 L{n[0] + 2 * p[0], n[1] + 2 * p[1], n[2] + 2 * p[2]};
  HaloSlabs h;
  for (size_t side = 0; side < 2; ++side) {
    h.dims[side] = {L[0], L[1], p[2]};
    h.origin[side] = {0, 0, side == 0 ? 0 : p[2] + n[2]};
    h.dims[2 + side] = {L[0], p[1], n[2]};
    h.origin[2 + side] = {0, side == 0 ? 0 : p[1] + n[1], p[2]};
    h.dims[4 + side] = {p[0], n[1], n[2]};
    h.origin[4 + side] = {side == 0 ? 0 : p[0] + n[0], p[1], p[2]};
  }
  const int64_t planes = g.N * g.C_in;
  for (size_t s = 1; s < 6; ++s)
    h.offset[s] = h.offset[s - 1] + planes * h.plane(s - 1);
  return h;
}

/// A piece of the halo of A_0ᵀ dy: one window per axis, not all Mid. The
/// 26 pieces (6 faces, 12 edges, 8 corners) partition the halo; each lies
/// in one PadHalo slab.
struct Piece {
  std::array<Window, 3> win{};
  std::array<size_t, 3> perm{};  // its halo axes first, then the Mid ones
  std::array<SubAxis, 3> ax{};   // per axis (original order)
  bool empty = false;            // no tap reaches it
  size_t slab = 0;
  Int3 wlo{}, wext{};  // its window, padded coordinates
};

/// The pieces with at least one element, in a fixed order.
std::vector<Piece> halo_pieces(const ConvGeometry3d& g) {
  std::vector<Piece> pieces;
  constexpr Window kWins[3] = {Window::Lo, Window::Mid, Window::Hi};
  for (Window wd : kWins)
    for (Window wh : kWins)
      for (Window ww : kWins) {
        Piece pc;
        pc.win = {wd, wh, ww};
        bool any_halo = false, nonempty = true;
        size_t k = 0;
        for (size_t a = 0; a < 3; ++a) {
          const int64_t n = g.in[a], p = g.padding[a];
          const Window w = pc.win[a];
          pc.wlo[a] = w == Window::Lo ? 0 : (w == Window::Mid ? p : p + n);
          pc.wext[a] = w == Window::Mid ? n : p;
          nonempty = nonempty && pc.wext[a] > 0;
          if (w != Window::Mid) {
            any_halo = true;
            pc.perm[k++] = a;
          }
        }
        if (!any_halo || !nonempty)
          continue;
        for (size_t a = 0; a < 3; ++a)
          if (pc.win[a] == Window::Mid)
            pc.perm[k++] = a;
        for (size_t a = 0; a < 3; ++a) {
          const std::optional<SubAxis> sa = sub_axis(g, a, pc.win[a]);
          pc.empty = pc.empty || !sa;
          if (sa)
            pc.ax[a] = *sa;
        }
        const size_t side_w = ww == Window::Lo ? 0 : 1;
        const size_t side_h = wh == Window::Lo ? 0 : 1;
        const size_t side_d = wd == Window::Lo ? 0 : 1;
        pc.slab = ww != Window::Mid   ? side_w
                  : wh != Window::Mid ? 2 + side_h
                                      : 4 + side_d;
        pieces.push_back(pc);
      }
  return pieces;
}

/// The transposed conv that computes a piece: the slice of dy and of the
/// weight it reads, in the piece's axis order (perm), per conv group.
ConvGeometry3d piece_geometry(const ConvGeometry3d& g, const Piece& pc) {
  ConvGeometry3d sub = g;
  for (size_t i = 0; i < 3; ++i) {
    const size_t a = pc.perm[i];
    const SubAxis& s = pc.ax[a];
    sub.out[i] = s.m;
    sub.kernel[i] = s.k;
    sub.in[i] = s.in;
    sub.padding[i] = s.pad;
    sub.stride[i] = g.stride[a];
    sub.dilation[i] = g.dilation[a];
  }
  return sub;
}

bool same_axes(const ConvGeometry3d& a, const ConvGeometry3d& b) {
  return a.in == b.in && a.out == b.out && a.kernel == b.kernel &&
         a.stride == b.stride && a.padding == b.padding &&
         a.dilation == b.dilation;
}

/// Whether the piece's transposed conv covers all of its window (else the
/// positions it misses are zero).
bool covers(const Piece& pc) {
  for (size_t a = 0; a < 3; ++a) {
    const SubAxis& s = pc.ax[a];
    if (s.origin > pc.wlo[a] || s.origin + s.in < pc.wlo[a] + pc.wext[a])
      return false;
  }
  return true;
}

/// Fills the halo slabs with A_0ᵀ dy's halo (see NOTE [ Conv padding
/// modes ]): the pieces whose transposed convs have the same geometry (in
/// their own axis order) are stacked as conv groups of one bwd_data call,
/// so a cubic geometry takes three calls (faces, edges, corners) however
/// many pieces there are. All slices are gathered in one parallel copy,
/// and all results scattered in another.
template <class T>
void halo_of_transpose(
    const ConvGeometry3d& g,
    const HaloSlabs& hs,
    const T* dy,
    const T* w,
    T* slabs) {
  const std::vector<Piece> pieces = halo_pieces(g);
  const int64_t planes = g.N * g.C_in;
  // Zeros where no tap lands: pieces no tap reaches, and the parts of a
  // window its transposed conv does not cover (strides past the kernel).
  for (const Piece& pc : pieces) {
    if (!pc.empty && covers(pc))
      continue;
    const Int3& sd = hs.dims[pc.slab];
    const Int3 str = contiguous3(sd);
    int64_t off = hs.offset[pc.slab];
    for (size_t a = 0; a < 3; ++a)
      off += (pc.wlo[a] - hs.origin[pc.slab][a]) * str[a];
    for (int64_t c = 0; c < planes; ++c)
      for (int64_t i = 0; i < pc.wext[0]; ++i)
        for (int64_t j = 0; j < pc.wext[1]; ++j) {
          T* row =
              slabs + off + c * hs.plane(pc.slab) + i * str[0] + j * str[1];
          std::fill(row, row + pc.wext[2], T(0));
        }
  }
  // Classes of pieces with one geometry, in order of first appearance.
  struct Class {
    ConvGeometry3d sub;
    std::vector<size_t> members;
  };
  std::vector<Class> classes;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].empty)
      continue;
    const ConvGeometry3d sub = piece_geometry(g, pieces[i]);
    auto it = std::find_if(classes.begin(), classes.end(), [&](const Class& c) {
      return same_axes(c.sub, sub);
    });
    if (it == classes.end()) {
      classes.push_back({sub, {}});
      it = classes.end() - 1;
    }
    it->members.push_back(i);
  }
  if (classes.empty())
    return;
  const Int3 dy_str = contiguous3(g.out), w_str = contiguous3(g.kernel);
  const int64_t dy_sp = g.out_numel(), kvol = g.kernel_numel();
  const int64_t C_out = g.C_out, C_in = g.C_in;
  const int64_t w_planes = C_out * g.C_in_g();
  // Each class's stacked dy slices, weight slices and output.
  std::vector<ConvGeometry3d> subs;
  std::vector<int64_t> dy_at, w_at, out_at;
  int64_t total = 0;
  for (const Class& c : classes) {
    const auto P = static_cast<int64_t>(c.members.size());
    ConvGeometry3d sub = c.sub;
    sub.C_out = P * C_out;
    sub.C_in = P * C_in;
    sub.groups = P * g.groups;
    subs.push_back(sub);
    dy_at.push_back(total);
    total += sub.y_numel();
    w_at.push_back(total);
    total += sub.w_numel();
    out_at.push_back(total);
    total += sub.x_numel();
  }
  Buffer<T> work(total);
  T* const base = work.get();
  // dy planes (n, co), w planes (co, ci of the group), result planes
  // (n, ci); each piece f of a class is group block f of its call.
  std::vector<CopyGroup> dy_copy, w_copy, out_copy;
  for (size_t ci = 0; ci < classes.size(); ++ci) {
    const ConvGeometry3d& sub = subs[ci];
    const auto P = static_cast<int64_t>(classes[ci].members.size());
    const int64_t dy_n = sub.out_numel(), k_n = sub.kernel_numel();
    const int64_t in_n = sub.in_numel();
    for (int64_t f = 0; f < P; ++f) {
      const Piece& pc = pieces[classes[ci].members[static_cast<size_t>(f)]];
      Int3 dy_src{}, w_src{};
      int64_t dy_off = 0, w_off = 0;
      for (size_t i = 0; i < 3; ++i) {
        dy_src[i] = dy_str[pc.perm[i]];
        w_src[i] = w_str[pc.perm[i]];
        dy_off += pc.ax[i].j0 * dy_str[i];
        w_off += pc.ax[i].t0 * w_str[i];
      }
      add_box(
          dy_copy, sub.out, dy_off, dy_src, C_out * dy_sp, dy_sp,
          dy_at[ci] + f * C_out * dy_n, contiguous3(sub.out), P * C_out * dy_n,
          dy_n);
      add_box(
          w_copy, sub.kernel, w_off, w_src, 0, kvol,
          w_at[ci] + f * w_planes * k_n, contiguous3(sub.kernel), 0, k_n);
      // The part of the output inside the window, back in slab order.
      Int3 ov{}, dst_str{};
      int64_t src_off = 0, dst_off = hs.offset[pc.slab];
      const Int3 out_str = contiguous3(sub.in);
      const Int3 slab_str = contiguous3(hs.dims[pc.slab]);
      bool overlap = true;
      for (size_t i = 0; i < 3; ++i) {
        const size_t a = pc.perm[i];
        const SubAxis& s = pc.ax[a];
        const int64_t lo = std::max(s.origin, pc.wlo[a]);
        const int64_t hi = std::min(s.origin + s.in, pc.wlo[a] + pc.wext[a]);
        overlap = overlap && hi > lo;
        ov[i] = hi - lo;
        src_off += (lo - s.origin) * out_str[i];
        dst_off += (lo - hs.origin[pc.slab][a]) * slab_str[a];
        dst_str[i] = slab_str[a];
      }
      if (overlap)
        add_box(
            out_copy, ov, out_at[ci] + f * C_in * in_n + src_off, out_str,
            P * C_in * in_n, in_n, dst_off, dst_str, C_in * hs.plane(pc.slab),
            hs.plane(pc.slab));
    }
  }
  copy_groups(g.N * C_out, C_out, dy, base, dy_copy);
  copy_groups(w_planes, w_planes, w, base, w_copy);
  for (size_t ci = 0; ci < classes.size(); ++ci)
    conv3d_bwd_data<T>(
        subs[ci], base + dy_at[ci], base + w_at[ci], base + out_at[ci]);
  copy_groups(g.N * C_in, C_in, static_cast<const T*>(base), slabs, out_copy);
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
  // The halo of A_0ᵀ dy, in PadHalo's six slabs, folded onto dx.
  const HaloSlabs hs = halo_slabs(g);
  Buffer<T> slabs(hs.offset[5] + pg.planes * hs.plane(5));
  halo_of_transpose<T>(g, hs, dy, w, slabs.get());
  PadHalo<T> halo;
  const T* ptr[6] = {};
  for (size_t s = 0; s < 6; ++s)
    ptr[s] = hs.plane(s) > 0 ? slabs.get() + hs.offset[s] : nullptr;
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
