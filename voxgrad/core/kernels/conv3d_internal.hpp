#pragma once
// Internal to the conv3d kernels (not installed API; tests may use it): the
// plain-data description of one kernel call that conv3d.cpp hands to an
// engine, the table of engines one instruction set provides, and the switch
// that picks the table. Each conv3d_<isa>.cpp compiles the engines of
// conv3d_engine_impl.hpp with its own -m flags; conv3d.cpp chooses at run
// time, so the library itself stays baseline x86-64.
//
// Everything here is plain data (no standard-library templates), so that
// code compiled for AVX-512 never instantiates a template the baseline code
// could end up sharing with it.

#include <cstdint>

namespace voxgrad::kernels::detail {

/// One spatial axis of a gather: destination positions j in [0, n_pos) at
/// dst index dst_step*j + dst_off; tap number i (weight tap tap[i]) reads
/// the source at src_step*j + off[i], valid (inside [0, src_len)) exactly
/// for j in [lo[i], hi[i]); elsewhere it reads zero padding. `off` is
/// monotonic in i, so the taps valid at one j form a contiguous range.
struct AxisView {
  int64_t n_pos = 0, src_len = 0, src_step = 1, dst_step = 1, dst_off = 0;
  int64_t n_taps = 0;
  const int64_t* tap = nullptr;
  const int64_t* off = nullptr;
  const int64_t* lo = nullptr;
  const int64_t* hi = nullptr;
};

/// Destination positions that share one tap set on every axis: the whole
/// output for a conv, one sub-pixel phase for a transposed conv.
struct ClassView {
  AxisView ax[3];
};

/// dst[n, grp*M + m, pos] = bias[grp*M + m] (if given) + sum over c < C_src
/// and the taps of pos's class of W(grp, m, c, tap) * src[n, grp*C_src + c,
/// src index(pos, tap)]. W is the conv weight (C_out, C_in/G, k): rows m are
/// its output channels if w_rows_are_dst (conv3d_fwd), else its input
/// channels (conv3d_bwd_data). Classes [group_start[i], group_start[i+1])
/// share ax[0] (one depth phase) and together cover its destination slices.
template <class T>
struct GatherArgs {
  int64_t N = 0, G = 1, M = 0, C_src = 0;
  int64_t src_dims[3]{}, dst_dims[3]{}, kernel[3]{};
  bool w_rows_are_dst = true;
  const ClassView* classes = nullptr;
  const int64_t* group_start = nullptr;  // n_groups + 1 entries
  int64_t n_groups = 0;
  const T* src = nullptr;
  const T* w = nullptr;
  T* dst = nullptr;
  const T* bias = nullptr;
};

/// dw[grp, co, ci, t] = sum over n and output positions o of
/// dy[n, grp*Cog + co, o] * x[n, grp*Cig + ci, o*s - p + t*dil] (the conv
/// maps in `conv`), and, if dbias is set, dbias[c] = sum of dy[n, c, :].
template <class T>
struct WgradArgs {
  int64_t N = 0, G = 1, Cig = 0, Cog = 0;
  int64_t in[3]{}, out[3]{}, kernel[3]{};
  ClassView conv;
  const T* x = nullptr;
  const T* dy = nullptr;
  T* dw = nullptr;
  T* dbias = nullptr;
};

/// The engines of one instruction set.
template <class T>
struct ConvEngines {
  const char* name;  // "generic", "avx2", "avx512"
  void (*gather)(const GatherArgs<T>&);
  void (*wgrad)(const WgradArgs<T>&);
};

template <class T>
const ConvEngines<T>& conv_engines_generic();
template <class T>
const ConvEngines<T>& conv_engines_avx2();
template <class T>
const ConvEngines<T>& conv_engines_avx512();

/// Workspace accounting: every scratch buffer of the engines reports its
/// bytes here (+ when allocated, - when freed); workspace_peak() is the most
/// that was live at once since workspace_peak_reset(). Tests check the
/// bound SPEC's benchmark contract sets (extra memory <= 5 % of the op's
/// input + output + weight bytes).
void workspace_track(int64_t bytes);
void workspace_peak_reset();
int64_t workspace_peak();

enum class Isa { Auto, Generic, Avx2, Avx512 };

/// Forces the instruction set (tests compare each path with the reference).
/// Returns false, changing nothing, if this CPU cannot run `isa`.
bool set_conv3d_isa(Isa isa);

}  // namespace voxgrad::kernels::detail
