#pragma once
// The optimizer updates' loops, templated on an xsimd architecture and
// compiled once per instruction set (optim_update.cpp: baseline,
// optim_update_avx2.cpp, optim_update_avx512.cpp); NOTE [ ISA dispatch ] in
// isa.hpp. Each lane performs the scalar formula's operations in order (no
// FMA; sqrt and division are correctly rounded everywhere), and chunk tails
// go through the same vector code on a staged copy, so every element gets
// the bits of a plain scalar loop.

#include <xsimd/xsimd.hpp>

#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/optim_update_table.hpp"
#include "voxgrad/core/parallel.hpp"

VOXGRAD_SIMD_WARNINGS_BEGIN
namespace voxgrad::kernels::detail {
namespace {

template <class T, class A>
struct AdamLanes {
  using B = xsimd::batch<T, A>;
  B sign, wd, decay, b1, omb1, b2, omb2, eps;
  bool l2, decoupled;

  explicit AdamLanes(const AdamScalars<T>& s)
      : sign(s.sign),
        wd(s.wd),
        decay(s.decay),
        b1(s.b1),
        omb1(s.one_minus_b1),
        b2(s.b2),
        omb2(s.one_minus_b2),
        eps(s.eps),
        l2(s.l2),
        decoupled(s.decoupled) {}

  // One vector of elements; vmax null without AMSGrad.
  void operator()(
      T* p,
      const T* g,
      T* m,
      T* v,
      T* vmax,
      const B& neg_step,
      const B& bc2_sqrt) const {
    B pv = B::load_unaligned(p);
    B gi = sign * B::load_unaligned(g);
    if (l2)
      gi = gi + wd * pv;
    if (decoupled)
      pv = pv * decay;
    const B mv = B::load_unaligned(m) * b1 + omb1 * gi;
    const B vv = B::load_unaligned(v) * b2 + omb2 * gi * gi;
    B v_hat = vv;
    if (vmax) {
      // torch.maximum: a NaN already in vmax stays.
      const B cur = B::load_unaligned(vmax);
      const B upd = xsimd::select(!(cur >= vv) && (cur == cur), vv, cur);
      upd.store_unaligned(vmax);
      v_hat = upd;
    }
    const B denom = xsimd::sqrt(v_hat) / bc2_sqrt + eps;
    pv = pv + neg_step * mv / denom;
    pv.store_unaligned(p);
    mv.store_unaligned(m);
    vv.store_unaligned(v);
  }
};

// Elements [b, e) of one tensor: full vectors in place, the tail on a
// staged copy padded with zeros (the same vector code either way).
template <class T, class A>
void adam_range(
    const AdamTensor<T>& t, int64_t b, int64_t e, const AdamLanes<T, A>& f) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t W = B::size;
  const B neg_step(t.neg_step), bc2(t.bc2_sqrt);
  int64_t i = b;
  for (; i + W <= e; i += W)
    f(t.p + i, t.g + i, t.m + i, t.v + i, t.vmax ? t.vmax + i : nullptr,
      neg_step, bc2);
  if (i == e)
    return;
  const int64_t n = e - i;
  alignas(64) T sp[W] = {}, sg[W] = {}, sm[W] = {}, sv[W] = {}, sx[W] = {};
  for (int64_t l = 0; l < n; ++l) {
    sp[l] = t.p[i + l];
    sg[l] = t.g[i + l];
    sm[l] = t.m[i + l];
    sv[l] = t.v[i + l];
    if (t.vmax)
      sx[l] = t.vmax[i + l];
  }
  f(sp, sg, sm, sv, t.vmax ? sx : nullptr, neg_step, bc2);
  for (int64_t l = 0; l < n; ++l) {
    t.p[i + l] = sp[l];
    t.m[i + l] = sm[l];
    t.v[i + l] = sv[l];
    if (t.vmax)
      t.vmax[i + l] = sx[l];
  }
}

template <class T, class A>
void adam_k(
    const AdamTensor<T>* tensors,
    const UpdateChunk* chunks,
    int64_t count,
    const AdamScalars<T>& s) {
  const AdamLanes<T, A> f(s);
  parallel_for(0, count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      adam_range<T, A>(tensors[chunks[c].t], chunks[c].begin, chunks[c].end, f);
  });
}

template <class T, class A>
struct SgdLanes {
  using B = xsimd::batch<T, A>;
  B sign, wd, neg_lr, mom, keep;
  bool has_wd, nesterov;

  explicit SgdLanes(const SgdScalars<T>& s)
      : sign(s.sign),
        wd(s.wd),
        neg_lr(s.neg_lr),
        mom(s.momentum),
        keep(s.keep),
        has_wd(s.has_wd),
        nesterov(s.nesterov) {}

  // One vector of elements; buf null without momentum.
  void operator()(T* p, const T* g, T* buf, bool fresh) const {
    B pv = B::load_unaligned(p);
    B d = sign * B::load_unaligned(g);
    if (has_wd)
      d = d + wd * pv;
    if (buf) {
      const B bv = fresh ? d : B::load_unaligned(buf) * mom + keep * d;
      bv.store_unaligned(buf);
      d = nesterov ? d + mom * bv : bv;
    }
    pv = pv + neg_lr * d;
    pv.store_unaligned(p);
  }
};

template <class T, class A>
void sgd_range(
    const SgdTensor<T>& t, int64_t b, int64_t e, const SgdLanes<T, A>& f) {
  constexpr int64_t W = xsimd::batch<T, A>::size;
  int64_t i = b;
  for (; i + W <= e; i += W)
    f(t.p + i, t.g + i, t.buf ? t.buf + i : nullptr, t.fresh);
  if (i == e)
    return;
  const int64_t n = e - i;
  alignas(64) T sp[W] = {}, sg[W] = {}, sb[W] = {};
  for (int64_t l = 0; l < n; ++l) {
    sp[l] = t.p[i + l];
    sg[l] = t.g[i + l];
    if (t.buf)
      sb[l] = t.buf[i + l];
  }
  f(sp, sg, t.buf ? sb : nullptr, t.fresh);
  for (int64_t l = 0; l < n; ++l) {
    t.p[i + l] = sp[l];
    if (t.buf)
      t.buf[i + l] = sb[l];
  }
}

template <class T, class A>
void sgd_k(
    const SgdTensor<T>* tensors,
    const UpdateChunk* chunks,
    int64_t count,
    const SgdScalars<T>& s) {
  const SgdLanes<T, A> f(s);
  parallel_for(0, count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      sgd_range<T, A>(tensors[chunks[c].t], chunks[c].begin, chunks[c].end, f);
  });
}

// avg = avg - w * (avg - p) on elements [b, e) of one tensor; the tail on a
// staged copy, through the same vector code.
template <class T, class A>
void ema_range(const EmaTensor<T>& t, int64_t b, int64_t e, T weight) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t W = B::size;
  const B w(weight);
  const auto step = [&w](T* avg, const T* p) {
    const B a = B::load_unaligned(avg);
    (a - w * (a - B::load_unaligned(p))).store_unaligned(avg);
  };
  int64_t i = b;
  for (; i + W <= e; i += W)
    step(t.avg + i, t.p + i);
  if (i == e)
    return;
  const int64_t n = e - i;
  alignas(64) T sa[W] = {}, sp[W] = {};
  for (int64_t l = 0; l < n; ++l) {
    sa[l] = t.avg[i + l];
    sp[l] = t.p[i + l];
  }
  step(sa, sp);
  for (int64_t l = 0; l < n; ++l)
    t.avg[i + l] = sa[l];
}

template <class T, class A>
void ema_k(
    const EmaTensor<T>* tensors,
    const UpdateChunk* chunks,
    int64_t count,
    T weight) {
  parallel_for(0, count, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      ema_range<T, A>(
          tensors[chunks[c].t], chunks[c].begin, chunks[c].end, weight);
  });
}

template <class T, class A>
constexpr OptimTable<T> make_optim_update_table(const char* name) {
  return {name, &adam_k<T, A>, &sgd_k<T, A>, &ema_k<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
VOXGRAD_SIMD_WARNINGS_END
