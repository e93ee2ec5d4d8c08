#pragma once
// The plan of one conv3d kernel call: which executor runs it (its path), how
// the work is blocked, chunked and split into tasks, and the workspace it
// needs. conv3d_plan() is a pure function of the geometry, the pass, the
// instruction set and the element type: never of the thread count or the
// machine's load, so every sum is computed in one fixed order and results
// are bit-identical for any thread count (issue 10). The executors only
// carry the plan out. See docs/conv-engine.md for the paths and a diagram.
//
//   ConvPlan p = conv3d_plan(g, Pass::BwdData);  // ConvTranspose3d's forward
//   std::puts(p.str().c_str());  // "avx512 f32 gather/tile/halo MR=8 ..."
//
// VOXGRAD_VERBOSE=1 prints the geometry, plan and time of every kernel call
// to stderr (as ONEDNN_VERBOSE does); VOXGRAD_ISA=generic|avx2|avx512 caps
// the instruction set, like ONEDNN_MAX_CPU_ISA.
//
// Words used by the plan and the executors:
//  - pass: fwd (y = A_w x), bwd_data (dx = A_wᵀ dy) or bwd_weight (dw).
//  - gather: fwd and bwd_data both compute each destination value as a sum
//    over source channels and taps; rows are destination channels, columns
//    are vectors of L consecutive destination positions (L = SIMD lanes).
//  - phase: destination positions that see one fixed set of taps: the
//    whole output of a conv, or one sub-pixel phase (positions with a fixed
//    residue modulo the stride per axis) of a transposed conv.
//  - depth phase: the phases that share one depth map; they read one packed
//    window.
//  - window: the source values a task's planes read, for one chunk of
//    source channels, copied into one of two layouts (halo or shifted, see
//    WindowPlan).
//  - chunk: the source channels reduced by one pass over a window; the
//    channel chunk fixes the order of every sum.
//  - (conv) groups: the `groups` of the convolution, never anything else.

#include <cstdint>
#include <memory>
#include <string>

#include "voxgrad/core/dtype.hpp"
#include "voxgrad/core/kernels/conv_geometry.hpp"
#include "voxgrad/core/kernels/isa.hpp"

namespace voxgrad::kernels {

/// The three kernels (conv direction; ConvTranspose3d's forward is BwdData).
enum class Pass { Fwd, BwdData, BwdWeight };

// Instruction sets: kernels::Isa of isa.hpp, shared with the other kernel
// families. For conv, Auto means the forced one (set_conv3d_isa,
// VOXGRAD_ISA), else the best this CPU runs.

/// The executors, one per path (voxgrad/core/kernels/conv3d_engine/<name>.hpp).
///  - GatherDirect: fwd, and bwd_data of convs with height and width stride
///    1: every phase writes whole planes of the output in place.
///  - GatherTile: bwd_data with a height or width stride > 1: the phases of
///    some output slices go into a tile that is interleaved into the output.
///  - WgradLanes: bwd_weight vectorised over positions (lanes summed last).
///  - WgradChannels: bwd_weight vectorised over output channels (AVX-512
///    float, C_out/groups >= 32).
///  - Im2colGemm: any pass of a conv with at most 32 output positions per
///    sample (and enough channels for a GEMM): one GEMM over the im2col
///    matrix, vectorised over channels (conv3d_engine/im2col_gemm.hpp).
enum class Path {
  GatherDirect,
  GatherTile,
  WgradLanes,
  WgradChannels,
  Im2colGemm
};

/// How a window is packed (see detail::WindowPlan): Halo when every row of
/// destination positions is whole vectors (or, in a tile, at least one),
/// else Shifted (the width taps expanded, so a vector may span rows).
enum class Layout { Halo, Shifted };

const char* pass_name(Pass pass);        // "fwd", "bwd_data", "bwd_weight"
const char* path_name(Path path);        // "gather/direct", ..., "gemm/im2col"
const char* layout_name(Layout layout);  // "halo", "shifted"

namespace detail {

/// One spatial axis of a phase: destination positions j in [0, n_pos) at
/// destination index dst_step*j + dst_off; tap number i (weight tap tap[i])
/// reads the source at src_step*j + off[i], which is inside [0, src_len)
/// exactly for j in [lo[i], hi[i]) (elsewhere it reads zero padding). off is
/// increasing in i, so the taps valid at one j are a contiguous range.
struct AxisTaps {
  int64_t n_pos = 0, src_len = 0, src_step = 1, dst_step = 1, dst_off = 0;
  int64_t n_taps = 0;
  const int64_t* tap = nullptr;
  const int64_t* off = nullptr;
  const int64_t* lo = nullptr;
  const int64_t* hi = nullptr;
};

/// One phase and its place in its window's packed layout. A plane is one
/// destination depth index; its n_h x n_w positions are read as n_col
/// columns of L values: column v reads the packed window at col_src[v] (+
/// the tap's offset) and is written at col_dst[v] of the destination rows
/// (pitch `pitch` between rows of positions).
struct PhasePlan {
  AxisTaps ax[3];                     // depth, height, width
  int64_t n_d = 0, n_h = 0, n_w = 0;  // positions per axis
  int64_t n_pos = 0;                  // n_h * n_w, positions per plane
  int64_t taps = 0;                   // taps of the phase (product)
  int64_t pitch = 0;  // destination (or tile) distance between rows
  int64_t n_col = 0;  // columns per plane
  const int64_t* col_src = nullptr;  // [n_col]
  const int64_t* col_dst = nullptr;  // [n_col]
  const int64_t* h_off = nullptr;    // [ax[1].n_taps] height tap offsets
  const int64_t* w_off = nullptr;    // [ax[2].n_taps] width tap offsets
  // [taps] the weight's flat tap index (td*kh + th)*kw + tw of each tap in
  // (depth, height, width) order.
  const int64_t* w_tap = nullptr;
  int64_t tap0 = 0;  // taps of the earlier phases of its window
};

/// The packed window of one depth phase: phases [phase0, phase1) share the
/// depth map and read one copy of the source slices, for a chunk of
/// channels: [channel][source slice][slice_vals values]. A slice is
///  - halo:    [h_phase i][row q][w_phase j][col c] (row_pitch = n_w_phase *
///             row_len per row q): source row sh*(q + row0) + h_phase[i],
///             column sw*(c + col0) + w_phase[j], zero outside the source;
///             tap (th, tw) at position (jh, jw) reads a fixed offset
///             h_off + w_off from the position's own (jh, jw).
///  - shifted: [h_phase i][shift u][row q][jw < shift_len]: row q holds the
///             source row of height phase i (as above) read at columns
///             sw*jw + shift[u], one row per distinct width tap offset.
/// Tap (td) of plane jd reads slice sd*jd + off_d - d_off0 of the window.
struct WindowPlan {
  int64_t phase0 = 0, phase1 = 0;  // its phases
  bool direct = false;  // the phase writes whole output planes (no tile)
  bool halo = false;    // layout: halo, else shifted
  int64_t sd = 1, sh = 1, sw = 1;  // source steps (the conv's strides)
  int64_t d_off0 = 0;              // smallest depth tap offset
  int64_t d_span = 0;              // largest - smallest depth offset + 1
  int64_t n_h_phase = 0;           // distinct height offsets mod sh
  int64_t rows = 0;                // packed rows per height phase
  int64_t row0 = 0;                // source row (/ sh) of packed row 0
  const int64_t* h_phase = nullptr;
  int64_t n_w_phase = 0, row_len = 0, row_pitch = 0, col0 = 0;  // halo
  const int64_t* w_phase = nullptr;                             // halo
  int64_t n_shift = 0, shift_len = 0;                           // shifted
  const int64_t* shift = nullptr;                               // shifted
  int64_t slice_vals = 0;  // packed values per channel and source slice
  int64_t plane_vals = 0;  // per channel for one plane: max(d_span, 1) slices
  int64_t tile_row = 0;    // tile values per destination row (tile mode)
  int64_t taps = 0;        // taps of its phases
  int64_t w_off = 0;       // its packed weights' offset in a conv group's
};

/// A gather task: conv group and sample ng = n*G + grp, depth phase
/// `window`, planes [jd0, jd1) of it, destination rows [m0, m1).
struct GatherTask {
  int64_t ng, window, jd0, jd1, m0, m1;
};

/// dst[n, grp*M + m, pos] = bias[grp*M + m] (if given) + the sum over
/// source channels c < C_src and the taps of pos's phase of
/// W(grp, m, c, tap) * src[n, grp*C_src + c, source index(pos, tap)]. W is
/// the conv weight (C_out, C_in/G, k): rows m are its output channels if
/// w_rows_are_dst (fwd), else its input channels (bwd_data).
///
/// The weights are packed once per call, shared by every task:
///   [grp][window][chunk][phase][row block rb][k][mr]
/// (w_grp_vals per conv group; window wi at windows[wi].w_off; chunk ch at
/// M * ch*chunk * window taps; phase at M * ccn * tap0), mr = MR except in
/// the last row block, k = (depth tap, channel, height tap, width tap).
struct GatherPlan {
  int64_t M = 0, C_src = 0;
  int64_t src_dims[3]{}, dst_dims[3]{}, kernel[3]{};
  bool w_rows_are_dst = true;
  const PhasePlan* phases = nullptr;
  int64_t n_phases = 0;
  const WindowPlan* windows = nullptr;
  int64_t n_windows = 0;
  int64_t chunk = 0, n_chunks = 0;  // source channels per chunk
  int64_t MR = 1;                   // rows per register block
  int64_t NV = 1;                   // most columns per register block
  const GatherTask* tasks = nullptr;
  int64_t n_tasks = 0;
  int64_t w_grp_vals = 0;  // packed weights per conv group
  // Per-task buffer sizes (values): window, tap offsets, tile (tile mode).
  int64_t window_vals = 1, n_offsets = 1, tile_vals = 1;
  bool stream = false;  // output >= 32 MiB: non-temporal stores
};

/// A weight-gradient task: conv group grp, input channels [c0, c0 + cc),
/// output channels [m0, m1), part r of the (sample, plane) reduction.
struct WgradTask {
  int64_t grp, c0, cc, m0, m1, r;
};

/// dw[grp, co, ci, t] = sum over samples n and output positions o of
/// dy[n, grp*Cog + co, o] * x[n, grp*Cig + ci, o*s - p + t*dil]: one phase
/// (the conv's output) and its window.
struct WgradPlan {
  int64_t Cig = 0, Cog = 0;
  int64_t in[3]{}, out[3]{}, kernel[3]{};
  PhasePlan phase;
  WindowPlan window;
  int64_t rows = 0;   // output channels per task (WgradChannels: padded to L)
  int64_t chunk = 0;  // input channels per task
  int64_t parts = 1;  // R: the (n, plane) reduction split into ordered parts
  int64_t batch = 1;  // planes per packed window (and per kernel call)
  int64_t window_vals = 0;  // packed window values of one batch
  const WgradTask* tasks = nullptr;
  int64_t n_tasks = 0;
  // WgradLanes: WMR output channels x WNC entries (input channel, tap) per
  // register block; whole columns per plane and the positions left over.
  int64_t WMR = 1, WNC = 1;
  int64_t n_full = 0, rem = 0;
  const int32_t* col = nullptr;  // [n_full] column offsets in a slice
  int64_t acc_entries = 0;       // entries per task, padded to WNC
  // WgradChannels: each position's offset in a packed slice.
  const int32_t* pos_off = nullptr;  // [n_pos]
};

struct PlanStorage;  // owns the arrays the views above point into

}  // namespace detail

/// The plan of one kernel call. Copies share the (immutable) arrays.
struct ConvPlan {
  Pass pass = Pass::Fwd;
  Isa isa = Isa::Generic;      // resolved, never Auto
  const char* isa_label = "";  // what the executors were compiled for
  Dtype dtype = kFloat32;
  Path path = Path::GatherDirect;
  Layout layout = Layout::Halo;
  int64_t lanes = 1;          // L, values per SIMD vector
  int64_t N = 0, G = 1;       // samples, conv groups
  detail::GatherPlan gather;  // GatherDirect, GatherTile
  detail::WgradPlan wgrad;    // WgradLanes, WgradChannels
  // Im2colGemm: the im2col matrix is rows x K, the GEMM's other side
  // `cols` wide (C_out; for bwd_data the GEMM runs per sample, P rows).
  int64_t im2col_rows = 0, im2col_k = 0, im2col_cols = 0;
  int64_t n_tasks = 0;
  int64_t task_bytes = 0;    // workspace per running task loop (per thread)
  int64_t shared_bytes = 0;  // workspace shared by all threads
  std::shared_ptr<const detail::PlanStorage> storage;

  /// One line, e.g. "avx512 f32 gather/tile/halo MR=8 NV=3 L=16 chunk=64/64
  /// tasks=96 ws=180KiB/thread".
  std::string str() const;
  /// "gather/tile/halo" (the path and its window layout; "gemm/im2col"
  /// has no window).
  std::string path_str() const;
};

/// The plan conv3d_fwd / conv3d_bwd_data / conv3d_bwd_weight make for g
/// (which must be valid: validate() first); it is made for g.canonical(),
/// the geometry the kernels run. Pure: the same arguments always give the
/// same plan. isa Auto resolves as the kernels do.
ConvPlan conv3d_plan(
    const ConvGeometry3d& g,
    Pass pass,
    Isa isa = Isa::Auto,
    Dtype dtype = kFloat32);

/// Forces the instruction set of all later kernel calls (tests compare each
/// path with the reference); Auto restores the default. Returns false,
/// changing nothing, if this CPU cannot run `isa`.
bool set_conv3d_isa(Isa isa);

/// The instruction set Auto resolves to now.
Isa conv3d_active_isa();

/// Whether this CPU (and OS) can run `isa`.
bool conv3d_cpu_supports(Isa isa);

}  // namespace voxgrad::kernels
