#pragma once
// Internal to the conv3d kernels (not installed API; tests and the bench may
// use it): the table of executors one instruction set provides, what the
// planner needs to know about each set, and workspace accounting.
// conv3d_generic.cpp, conv3d_avx2.cpp and conv3d_avx512.cpp each compile the
// executors (conv3d_engine/executors.hpp) with their own -m flags;
// conv3d.cpp picks a table at run time, so the library stays baseline
// x86-64. Everything here is plain data and function pointers: code built
// for AVX-512 never shares a template instantiation with baseline code.

#include <cstdint>

#include "voxgrad/core/kernels/conv3d_plan.hpp"

namespace voxgrad::kernels::detail {

/// What one instruction set's executors were compiled for. Plain data, so
/// the planner may read it on any CPU (planning runs no SIMD code).
struct IsaInfo {
  const char* name;      // "generic", "avx2", "avx512"
  int64_t vector_bytes;  // 16 (SSE2, NEON), 32 (AVX2), 64 (AVX-512)
};
extern const IsaInfo kIsaGeneric, kIsaAvx2, kIsaAvx512;

/// The executors of one instruction set, one per Path. Each reads the plan
/// (only its plain members) and raw NCDHW buffers:
///   gather_*: dst = the GatherPlan's sum over src and w (+ bias);
///   wgrad_*:  dw = the WgradPlan's sum over x and dy (N >= 1).
template <class T>
struct ConvExecutors {
  void (*gather_direct)(const ConvPlan&, const T*, const T*, T*, const T*);
  void (*gather_tile)(const ConvPlan&, const T*, const T*, T*, const T*);
  void (*wgrad_lanes)(const ConvPlan&, const T*, const T*, T*);
  void (*wgrad_channels)(const ConvPlan&, const T*, const T*, T*);
};

// Call only when the CPU runs the set (conv3d_cpu_supports).
template <class T>
const ConvExecutors<T>& conv_executors_generic();
template <class T>
const ConvExecutors<T>& conv_executors_avx2();
template <class T>
const ConvExecutors<T>& conv_executors_avx512();

/// The executors' workspace: a per-thread stack (NOTE [ Conv workspace ] in
/// conv3d.cpp). workspace_push returns `bytes` (a multiple of 64) of
/// 64-byte-aligned memory; workspace_pop releases it, in reverse order of
/// the pushes on the same thread (Scratch in conv3d_engine/scratch.hpp does
/// both).
void* workspace_push(int64_t bytes);
void workspace_pop(void* p, int64_t bytes);

/// Workspace accounting: workspace_peak() is the most workspace that was
/// in use at once (all threads) since workspace_peak_reset(); the bench
/// reports it as extra memory relative to the op's bytes.
void workspace_peak_reset();
int64_t workspace_peak();

}  // namespace voxgrad::kernels::detail
