// The three conv3d kernels: validate the geometry, plan the call
// (conv3d_plan.cpp), run the plan's executor for the instruction set
// (conv3d_engine/<path>.hpp, compiled per set in conv3d_<isa>.cpp). See
// NOTE [ Conv adjointness ] in conv3d.hpp and docs/conv-engine.md.

#include "voxgrad/core/kernels/conv3d.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/kernels/conv3d_engine/im2col_gemm.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"
#include "voxgrad/core/kernels/conv3d_plan.hpp"
#include "voxgrad/core/profiler.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define VOXGRAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VOXGRAD_ASAN 1
#endif
#endif
#if defined(VOXGRAD_ASAN)
#include <sanitizer/asan_interface.h>
#define VOXGRAD_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define VOXGRAD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define VOXGRAD_POISON(p, n) ((void)(p), (void)(n))
#define VOXGRAD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace voxgrad::kernels {
namespace {

std::atomic<Isa> g_forced_isa{Isa::Auto};

// VOXGRAD_ISA=generic|avx2|avx512 caps the instruction set (as
// ONEDNN_MAX_CPU_ISA does); anything else is an error naming the choices.
Isa env_isa() {
  static const Isa isa = [] {
    const char* v = std::getenv("VOXGRAD_ISA");
    if (!v || !*v)
      return Isa::Auto;
    for (Isa i : {Isa::Generic, Isa::Avx2, Isa::Avx512})
      if (std::strcmp(v, isa_name(i)) == 0)
        return i;
    VOXGRAD_FAIL(
        "VOXGRAD_ISA: unknown instruction set \"", v,
        "\" (expected generic, avx2 or avx512)");
  }();
  return isa;
}

bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("VOXGRAD_VERBOSE");
    return v && std::strcmp(v, "0") != 0 && *v;
  }();
  return on;
}

template <class T>
const detail::ConvExecutors<T>& executors(Isa isa) {
  if (isa == Isa::Avx512)
    return detail::conv_executors_avx512<T>();
  if (isa == Isa::Avx2)
    return detail::conv_executors_avx2<T>();
  return detail::conv_executors_generic<T>();
}

// Plans the call, runs its executor and, with VOXGRAD_VERBOSE=1, prints
//   voxgrad_verbose,conv3d,<pass>,<geometry>,<plan>,<ms>
template <class T, class Run>
void run_planned(const ConvGeometry3d& g, Pass pass, Run&& run) {
  // One profiler event per call, named after the pass; its bytes are the
  // three tensors the pass reads or writes (x, w, y in some role each).
  const int64_t bytes =
      (g.x_numel() + g.w_numel() + g.y_numel()) * int64_t{sizeof(T)};
  profiler::Scope scope(
      pass == Pass::Fwd       ? "conv3d_fwd"
      : pass == Pass::BwdData ? "conv3d_bwd_data"
                              : "conv3d_bwd_weight",
      profiler::Kind::Op, bytes);
  const ConvPlan plan = conv3d_plan(g, pass, Isa::Auto, dtype_of<T>());
  const auto t0 = std::chrono::steady_clock::now();
  run(plan, executors<T>(plan.isa));
  if (verbose()) {
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    std::fprintf(
        stderr, "voxgrad_verbose,conv3d,%s,%s,%s,%.3f\n", pass_name(pass),
        g.str().c_str(), plan.str().c_str(), ms);
  }
}

}  // namespace

bool conv3d_cpu_supports(Isa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  if (isa == Isa::Avx512)
    return __builtin_cpu_supports("avx512f");
  if (isa == Isa::Avx2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == Isa::Generic || isa == Isa::Auto;
}

Isa conv3d_active_isa() {
  Isa isa = g_forced_isa.load(std::memory_order_relaxed);
  if (isa != Isa::Auto)
    return isa;
  const Isa cap = env_isa();
  for (Isa i : {Isa::Avx512, Isa::Avx2})
    if (conv3d_cpu_supports(i) &&
        (cap == Isa::Auto || static_cast<int>(i) <= static_cast<int>(cap)))
      return i;
  return Isa::Generic;
}

bool set_conv3d_isa(Isa isa) {
  if (!conv3d_cpu_supports(isa))
    return false;
  g_forced_isa.store(isa, std::memory_order_relaxed);
  return true;
}

namespace detail {
namespace {

// NOTE [ Conv workspace ]
// ~~~~~~~~~~~~~~~~~~~~~~~
// The executors' buffers (packed weights and windows, tiles, accumulators)
// come from a stack per thread that is kept across calls, not from malloc.
// With malloc, each call's buffers of a few hundred KiB to a few MiB were
// fresh memory: glibc may trim its heap when they are freed (brk, a TLB
// shootdown on every core) or map them anew, and the next call page-faults
// them back in, so a kernel's speed could depend on what ran before it (a
// suspect of issue 16: gan_up1's transposed forward took 31 ms after the
// other passes, 16 ms alone). Now a thread's stack grows to the most its calls have needed (up to
// kKeepBytes) and stays: after the first call of a shape, no allocation,
// page fault or trim. A push that does not fit is served by aligned_alloc
// and freed at its pop (the stack grows to fit when it is next empty).
// Memory kept: each thread that ran a conv kernel holds its largest
// workspace (typically 0.1 - 3 MiB), until the thread exits.
constexpr int64_t kKeepBytes = int64_t{64} << 20;

struct WorkspaceStack {
  char* base = nullptr;
  int64_t cap = 0, top = 0;
  int64_t live = 0;  // bytes pushed and not popped, incl. spilled ones
  int64_t need = 0;  // the most live at once: the size to grow to
  ~WorkspaceStack() {
    VOXGRAD_UNPOISON(base, cap);
    std::free(base);
  }
};
thread_local WorkspaceStack t_stack;

std::atomic<int64_t> g_workspace_live{0}, g_workspace_peak{0};

void track(int64_t bytes) {
  const int64_t now =
      g_workspace_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  int64_t peak = g_workspace_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_workspace_peak.compare_exchange_weak(
                           peak, now, std::memory_order_relaxed)) {
  }
}

void* aligned_or_throw(int64_t bytes) {
  void* p =
      std::aligned_alloc(4096, static_cast<size_t>(bytes + 4095) / 4096 * 4096);
  if (!p)
    throw std::bad_alloc();
  return p;
}

}  // namespace

void* workspace_push(int64_t bytes) {
  VOXGRAD_ASSERT(bytes > 0 && bytes % 64 == 0);
  WorkspaceStack& s = t_stack;
  if (s.live == 0 && s.need > s.cap) {  // empty: grow to what was needed
    VOXGRAD_UNPOISON(s.base, s.cap);
    std::free(s.base);
    s.base = nullptr;
    s.cap = 0;
    const int64_t cap = (s.need + 65535) / 65536 * 65536;
    s.base = static_cast<char*>(aligned_or_throw(cap));
    s.cap = cap;
    VOXGRAD_POISON(s.base, s.cap);  // ASan reports use outside a push
  }
  // On the stack while nothing pushed before is spilled (top == live) and
  // it fits; else spilled, freed at its pop. The bookkeeping follows the
  // allocation, so a bad_alloc leaves the stack as it was.
  void* p;
  if (s.top == s.live && s.top + bytes <= s.cap) {
    p = s.base + s.top;
    s.top += bytes;
    VOXGRAD_UNPOISON(p, bytes);
  } else {
    p = aligned_or_throw(bytes);
  }
  s.live += bytes;
  if (s.live <= kKeepBytes && s.live > s.need)
    s.need = s.live;
  track(bytes);
  return p;
}

void workspace_pop(void* p, int64_t bytes) {
  WorkspaceStack& s = t_stack;
  char* c = static_cast<char*>(p);
  if (s.base && c >= s.base && c < s.base + s.cap) {
    VOXGRAD_ASSERT(c + bytes == s.base + s.top);  // reverse order of pushes
    s.top -= bytes;
    VOXGRAD_POISON(p, bytes);
  } else {
    std::free(p);
  }
  s.live -= bytes;
  track(-bytes);
}

void workspace_peak_reset() {
  g_workspace_peak.store(
      g_workspace_live.load(std::memory_order_relaxed),
      std::memory_order_relaxed);
}

int64_t workspace_peak() {
  return g_workspace_peak.load(std::memory_order_relaxed);
}
}  // namespace detail

/*
 * conv3d_fwd: y = A_w x (+ bias).
 *   x (N, C_in, in_d, in_h, in_w)          contiguous
 *   w (C_out, C_in/G, kd, kh, kw)          contiguous
 *   y (N, C_out, out_d, out_h, out_w)      contiguous, overwritten
 * A gather with one phase (GatherDirect): rows are the group's output
 * channels, the reduction runs over (ci, kd, kh, kw) of the weight. Small
 * outputs (Im2colGemm, NOTE [ When im2col + GEMM ]): one GEMM over the
 * im2col matrix, for this pass and the two below.
 */
template <class T>
void conv3d_fwd(
    const ConvGeometry3d& g, const T* x, const T* w, T* y, const T* bias) {
  g.validate("conv3d");
  run_planned<T>(g, Pass::Fwd, [&](const ConvPlan& p, const auto& ex) {
    if (p.path == Path::Im2colGemm)
      detail::im2col_gemm_fwd(g.canonical(), x, w, y, bias);
    else
      ex.gather_direct(p, x, w, y, bias);
  });
}

/*
 * conv3d_bwd_data: dx = A_wᵀ dy (+ bias) (ConvTranspose3d's forward).
 *   dy (N, C_out, out_d, out_h, out_w)     contiguous
 *   w  (C_out, C_in/G, kd, kh, kw)         contiguous
 *   dx (N, C_in, in_d, in_h, in_w)         contiguous, overwritten
 * A gather over the prod(stride) sub-pixel phases: rows are the group's
 * input channels, the reduction runs over (co, taps of the phase).
 * Positions no tap reaches (a phase without taps, or the trailing `extra`
 * positions) get an empty sum: zero (+ bias).
 */
template <class T>
void conv3d_bwd_data(
    const ConvGeometry3d& g, const T* dy, const T* w, T* dx, const T* bias) {
  g.validate("conv3d_bwd_data");
  run_planned<T>(g, Pass::BwdData, [&](const ConvPlan& p, const auto& ex) {
    if (p.path == Path::Im2colGemm)
      detail::im2col_gemm_bwd_data(g.canonical(), dy, w, dx, bias);
    else if (p.path == Path::GatherTile)
      ex.gather_tile(p, dy, w, dx, bias);
    else
      ex.gather_direct(p, dy, w, dx, bias);
  });
}

/*
 * conv3d_bwd_weight: dw[co, ci, t] = sum_{n, o} dy[n, co, o] *
 *                                    x[n, ci, o*s - p + t*dil]
 *   x  (N, C_in, in_d, in_h, in_w)         contiguous
 *   dy (N, C_out, out_d, out_h, out_w)     contiguous
 *   dw (C_out, C_in/G, kd, kh, kw)         contiguous, overwritten
 */
template <class T>
void conv3d_bwd_weight(
    const ConvGeometry3d& g, const T* x, const T* dy, T* dw) {
  g.validate("conv3d_bwd_weight");
  run_planned<T>(g, Pass::BwdWeight, [&](const ConvPlan& p, const auto& ex) {
    if (g.N == 0)
      std::memset(dw, 0, static_cast<size_t>(g.w_numel()) * sizeof(T));
    else if (p.path == Path::Im2colGemm)
      detail::im2col_gemm_bwd_weight(g.canonical(), x, dy, dw);
    else if (p.path == Path::WgradChannels)
      ex.wgrad_channels(p, x, dy, dw);
    else
      ex.wgrad_lanes(p, x, dy, dw);
  });
}

const char* conv3d_isa() {
  const Isa isa = conv3d_active_isa();
  return isa == Isa::Avx512 ? detail::kIsaAvx512.name
         : isa == Isa::Avx2 ? detail::kIsaAvx2.name
                            : detail::kIsaGeneric.name;
}

#define VOXGRAD_INSTANTIATE(T)                                  \
  template void conv3d_fwd<T>(                                  \
      const ConvGeometry3d&, const T*, const T*, T*, const T*); \
  template void conv3d_bwd_data<T>(                             \
      const ConvGeometry3d&, const T*, const T*, T*, const T*); \
  template void conv3d_bwd_weight<T>(                           \
      const ConvGeometry3d&, const T*, const T*, T*);
VOXGRAD_INSTANTIATE(float)
VOXGRAD_INSTANTIATE(double)
#undef VOXGRAD_INSTANTIATE

}  // namespace voxgrad::kernels
