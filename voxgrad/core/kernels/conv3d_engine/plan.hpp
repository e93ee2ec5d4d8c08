#pragma once
// Plans: how the classes of a conv share depth maps and packed source
// slices (see NOTE [ Conv engine ] in conv3d_engine_impl.hpp).
// Part of the engines in conv3d_engine_impl.hpp: internal linkage, compiled
// once per instruction set.

#include "voxgrad/core/kernels/conv3d_engine/pack_rows.hpp"

namespace voxgrad::kernels::detail {
namespace {

// ---- plans ------------------------------------------------------------------

// ceil(a / b) for any sign of a, b > 0.
inline int64_t cdiv_any(int64_t a, int64_t b) {
  return a >= 0 ? a / b + (a % b != 0) : -((-a) / b);  // never overflows
}

// A bump allocator over one buffer, for the small per-call arrays.
struct Pool {
  int64_t* p = nullptr;
  int64_t used = 0;
  int64_t* take(int64_t n) {
    int64_t* r = p + used;
    used += n;
    return r;
  }
};

// One class's part of the packed layout (see NOTE [ Conv engine ]).
struct ClassPlan {
  const ClassView* cv = nullptr;
  int64_t nt[3]{};  // taps per axis
  int64_t ND = 0, NH = 0, NW = 0, P = 0, taps = 0;
  int64_t tpitch = 0;       // row pitch of positions in a tile / direct plane
  int64_t nvec = 0;         // columns per plane
  int64_t* colb = nullptr;  // [nvec] column offsets into the packed buffer
  int64_t* colc = nullptr;  // [nvec] column offsets into the destination
  // Offsets of each height / width tap within a channel's slice.
  int64_t* hoff = nullptr;
  int64_t* woff = nullptr;
};

// Classes sharing the depth map, and the packed source slices they share.
// One channel's slice is [n_rho][HQ][n_rw][LW] (halo) or [n_rho][NU][HQ][NWs]
// (shifted); row hq of height phase rho[i] holds source row
// sh*(hq + qh0) + rho[i]. Halo: column wq of width phase rw[j] holds source
// column sw*(wq + qw0) + rw[j]. Shifted: row u holds source columns
// sw*jw + uoff[u], jw < NWs (one row per distinct width offset).
struct GroupPlan {
  int64_t c0 = 0, c1 = 0;  // classes [c0, c1)
  bool direct = false, halo = false;
  int64_t sd = 1, sh = 1, sw = 1;  // source steps
  int64_t dmin = 0, dspan = 0;     // depth offsets: min, max - min + 1
  int64_t n_rho = 0, HQ = 0, qh0 = 0;
  int64_t n_rw = 0, LW = 0, RP = 0, qw0 = 0;  // halo
  int64_t NU = 0, NWs = 0;                    // shifted
  int64_t cs = 0;                             // values per channel and slice
  int64_t per_c = 0;     // packed values per channel for one plane
  int64_t tile_row = 0;  // tile values per destination row (tile mode)
  int64_t* rho = nullptr;
  int64_t* rw = nullptr;    // halo
  int64_t* uoff = nullptr;  // shifted
};

// Distinct values of v[i] mod s (floor), in order of appearance; returns
// how many, and writes each i's index into idx.
int64_t phases(
    const int64_t* off, int64_t n, int64_t s, int64_t* vals, int64_t* idx) {
  int64_t nv = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = off[i] - fdiv(off[i], s) * s;
    int64_t j = 0;
    while (j < nv && vals[j] != r)
      ++j;
    if (j == nv)
      vals[nv++] = r;
    idx[i] = j;
  }
  return nv;
}

// Pool entries plan_group needs for classes [c0, c1) of cv.
int64_t plan_pool_size(const ClassView* cv, int64_t c0, int64_t c1, int64_t L) {
  int64_t n = 0;
  for (int64_t c = c0; c < c1; ++c) {
    const AxisView* ax = cv[c].ax;
    const int64_t nvec =
        ax[1].n_pos * cdiv(ax[2].n_pos, L) + cdiv(ax[1].n_pos * ax[2].n_pos, L);
    n += 2 * nvec + 8 * ax[1].n_taps + 6 * ax[2].n_taps + 24;
  }
  return n;
}

// Plans classes [c0, c1) (sharing ax[0]) as one group. `direct`: the
// destination rows are contiguous planes of pitch n_pos_w (no tile).
void plan_group(
    const ClassView* cv,
    int64_t c0,
    int64_t c1,
    bool direct,
    int64_t L,
    Pool& pool,
    ClassPlan* plans,
    GroupPlan& gp) {
  gp.c0 = c0;
  gp.c1 = c1;
  gp.direct = direct;
  const AxisView& md = cv[c0].ax[0];
  gp.sd = md.src_step;
  gp.sh = cv[c0].ax[1].src_step;
  gp.sw = cv[c0].ax[2].src_step;
  const int64_t sh = gp.sh, sw = gp.sw;
  for (int64_t i = 0; i < md.n_taps; ++i)
    gp.dmin = i == 0 ? md.off[i] : imin(gp.dmin, md.off[i]);
  for (int64_t i = 0; i < md.n_taps; ++i)
    gp.dspan = imax(gp.dspan, md.off[i] - gp.dmin + 1);
  // Halo when every row holds whole vectors (or, in a tile, at least one);
  // shifted rows (width offsets expanded) let a vector span rows.
  gp.halo = true;
  for (int64_t c = c0; c < c1; ++c) {
    const int64_t nw = cv[c].ax[2].n_pos;
    gp.halo = gp.halo && (nw % L == 0 || (!direct && nw > L));
    gp.NWs = imax(gp.NWs, nw);
  }
  int64_t nh_all = 0, nw_all = 0;
  for (int64_t c = c0; c < c1; ++c) {
    ClassPlan& p = plans[c];
    p = ClassPlan{};
    p.cv = &cv[c];
    for (int a = 0; a < 3; ++a)
      p.nt[a] = cv[c].ax[a].n_taps;
    p.ND = cv[c].ax[0].n_pos;
    p.NH = cv[c].ax[1].n_pos;
    p.NW = cv[c].ax[2].n_pos;
    p.P = p.NH * p.NW;
    p.taps = p.nt[0] * p.nt[1] * p.nt[2];
    nh_all += p.nt[1];
    nw_all += p.nt[2];
  }
  // Union of the classes' height / width offsets, phases and row ranges.
  int64_t* hv = pool.take(nh_all + 1);
  int64_t* wv = pool.take(nw_all + 1);
  int64_t* hidx = pool.take(nh_all + 1);
  int64_t* widx = pool.take(nw_all + 1);
  int64_t qh1 = 0, qw1 = 0;
  bool any = false;
  for (int64_t c = c0, oh = 0, ow = 0; c < c1; ++c) {
    const AxisView &mh = cv[c].ax[1], &mw = cv[c].ax[2];
    for (int64_t i = 0; i < mh.n_taps; ++i)
      hv[oh + i] = mh.off[i];
    for (int64_t i = 0; i < mw.n_taps; ++i)
      wv[ow + i] = mw.off[i];
    oh += mh.n_taps;
    ow += mw.n_taps;
    for (int64_t i = 0; i < mh.n_taps; ++i)
      for (int64_t j = 0; j < mw.n_taps; ++j) {
        const int64_t a = fdiv(mh.off[i], sh), b = fdiv(mw.off[j], sw);
        gp.qh0 = any ? imin(gp.qh0, a) : a;
        qh1 = any ? imax(qh1, a + mh.n_pos - 1) : a + mh.n_pos - 1;
        gp.qw0 = any ? imin(gp.qw0, b) : b;
        qw1 = any ? imax(qw1, b + mw.n_pos - 1) : b + mw.n_pos - 1;
        any = true;
      }
  }
  gp.rho = pool.take(nh_all + 1);
  gp.n_rho = phases(hv, nh_all, sh, gp.rho, hidx);
  gp.HQ = any ? qh1 - gp.qh0 + 1 : 0;
  if (gp.halo) {
    gp.rw = pool.take(nw_all + 1);
    gp.n_rw = phases(wv, nw_all, sw, gp.rw, widx);
    gp.LW = any ? qw1 - gp.qw0 + 1 : 0;
    gp.RP = gp.n_rw * gp.LW;
    gp.cs = gp.n_rho * gp.HQ * gp.RP;
  } else {
    // Distinct width offsets: one shifted row each.
    gp.uoff = pool.take(nw_all + 1);
    for (int64_t i = 0; i < nw_all; ++i) {
      int64_t j = 0;
      while (j < gp.NU && gp.uoff[j] != wv[i])
        ++j;
      if (j == gp.NU)
        gp.uoff[gp.NU++] = wv[i];
      widx[i] = j;
    }
    gp.cs = gp.n_rho * gp.NU * gp.HQ * gp.NWs;
  }
  gp.per_c = imax(gp.dspan, 1) * gp.cs;
  for (int64_t c = c0, oh = 0, ow = 0; c < c1; ++c) {
    ClassPlan& p = plans[c];
    const AxisView &mh = cv[c].ax[1], &mw = cv[c].ax[2];
    p.hoff = pool.take(mh.n_taps + 1);
    p.woff = pool.take(mw.n_taps + 1);
    for (int64_t i = 0; i < mh.n_taps; ++i) {
      const int64_t q = fdiv(mh.off[i], sh) - gp.qh0;
      p.hoff[i] = gp.halo ? hidx[oh + i] * gp.HQ * gp.RP + q * gp.RP
                          : hidx[oh + i] * gp.NU * gp.HQ * gp.NWs + q * gp.NWs;
    }
    for (int64_t i = 0; i < mw.n_taps; ++i)
      p.woff[i] = gp.halo
                      ? widx[ow + i] * gp.LW + (fdiv(mw.off[i], sw) - gp.qw0)
                      : widx[ow + i] * gp.HQ * gp.NWs;
    oh += mh.n_taps;
    ow += mw.n_taps;
    if (gp.halo) {
      // A column is L consecutive jw of one row.
      const int64_t vr = cdiv(p.NW, L);
      p.tpitch = direct ? p.NW : vr * L;
      p.nvec = p.NH * vr;
      p.colb = pool.take(p.nvec + 1);
      p.colc = pool.take(p.nvec + 1);
      for (int64_t jh = 0, v = 0; jh < p.NH; ++jh)
        for (int64_t w0 = 0; w0 < p.NW; w0 += L, ++v) {
          p.colb[v] = jh * gp.RP + w0;
          p.colc[v] = jh * p.tpitch + w0;
        }
    } else {
      // A column is L consecutive positions of the plane, rows NWs apart.
      p.tpitch = gp.NWs;
      p.nvec = cdiv(p.NH * gp.NWs, L);
      p.colb = pool.take(p.nvec + 1);
      p.colc = pool.take(p.nvec + 1);
      for (int64_t v = 0; v < p.nvec; ++v)
        p.colb[v] = p.colc[v] = v * L;
    }
    gp.tile_row += p.nvec * L;
  }
}

// The depth taps [lo, hi) that read inside the source for plane jd.
void depth_taps(const AxisView& md, int64_t jd, int64_t& lo, int64_t& hi) {
  lo = 0;
  while (lo < md.n_taps && !(jd >= md.lo[lo] && jd < md.hi[lo]))
    ++lo;
  hi = lo;
  while (hi < md.n_taps && jd >= md.lo[hi] && jd < md.hi[hi])
    ++hi;
}

}  // namespace
}  // namespace voxgrad::kernels::detail
