#pragma once
// 3-D pooling kernels (max with indices, average and its adjoint) and the
// index gather / scatter behind max pooling's gradients and max unpooling.
// Raw pointers and explicit window tables, no autograd.
//
// NOTE [ Pooling windows ]
// Every pooling op here is described per axis by a window table: output
// position o reads the input positions start[o] + t * dilation for
// t < count[o], already clipped to the input, so count[o] >= 1. Regular
// pools (kernel k, stride s, padding p, dilation d) and adaptive pools
// (PyTorch's floor(o in / out) .. ceil((o + 1) in / out)) only differ in how
// the table is filled; one kernel runs both. A 3-D window is the product of
// the three axes' windows, scanned depth-major as PyTorch does; flat indices
// d * H * W + h * W + w (into one (n, c) plane) increase along that scan.
//
// Max: the maximum, the first one in scan order among ties; if the window
// holds NaN, the last NaN (PyTorch's `val > max || isnan(val)` update).
// That rule is a total order on (value, index) pairs, so the kernel may
// reduce in any order: it first reduces each input column over the window's
// depth and height taps, vectorised along W, then across the width taps.
//
// Every kernel partitions its output (rows of W) across threads and sums in
// a fixed order: bit-identical for any thread count.

#include <array>
#include <cstdint>
#include <vector>

namespace voxgrad::kernels {

/// One axis of a pooling window table (NOTE [ Pooling windows ]).
struct PoolAxis {
  int64_t in = 0, out = 0, dilation = 1;
  std::vector<int64_t> start, count;
  /// Average pooling's divisor factor of each output position.
  std::vector<int64_t> divisor;
};

/// The table of a regular pool; `count_include_pad` picks avg_pool3d's
/// divisor (padding counted, but not beyond it, as PyTorch). Output size
/// `out` must come from the caller's PyTorch rule; every window must hold
/// at least one input element (callers check; see pool_axis_empty).
PoolAxis pool_axis(
    int64_t in,
    int64_t out,
    int64_t kernel,
    int64_t stride,
    int64_t padding,
    int64_t dilation,
    bool count_include_pad);
/// The first output position whose window lies entirely in padding, or -1.
int64_t pool_axis_empty(
    int64_t in,
    int64_t out,
    int64_t kernel,
    int64_t stride,
    int64_t padding,
    int64_t dilation);
/// The table of an adaptive pool from `in` to `out` >= 1 positions.
PoolAxis adaptive_axis(int64_t in, int64_t out);

struct PoolWindows3d {
  int64_t planes = 0;            // N * C
  std::array<PoolAxis, 3> axis;  // D, H, W
  int64_t in_numel() const {
    return axis[0].in * axis[1].in * axis[2].in;
  }
  int64_t out_numel() const {
    return axis[0].out * axis[1].out * axis[2].out;
  }
};

/// y (planes, out) = window maxima of x (planes, in); idx (nullable) gets
/// the flat in-plane index of each.
template <class T>
void max_pool3d_fwd(const PoolWindows3d& w, const T* x, T* y, int64_t* idx);

/// y = window sums of x divided by divisor_override, or (0) by the product
/// of the three axes' divisor factors.
template <class T>
void avg_pool3d_fwd(
    const PoolWindows3d& w, const T* x, T* y, int64_t divisor_override);

/// The adjoint of avg_pool3d_fwd: dx (planes, in) from dy (planes, out).
template <class T>
void avg_pool3d_bwd(
    const PoolWindows3d& w, const T* dy, T* dx, int64_t divisor_override);

/// Index maps between planes of `small` and `large` elements each, with
/// idx (planes, small) holding positions in [0, large) (checked: a bad index
/// throws voxgrad::Error naming it).
///   gather:      dst (planes, small)[p, j] = src[p, idx[p, j]]
///   scatter_add: dst (planes, large) = 0, then dst[p, idx[p, j]] += src[p, j]
///                in order of j
///   scatter:     dst (planes, large) = 0, then dst[p, idx[p, j]] = src[p, j]
///                in order of j (the last write wins)
///   gather_last: dst (planes, small)[p, j] = src[p, idx[p, j]] if no later
///                j' of plane p has the same index, else 0: the adjoint of
///                scatter (a position's value comes from its last writer
///                only), so scatter's exact derivative even with repeats
template <class T>
void index_gather(
    int64_t planes,
    int64_t small,
    int64_t large,
    const T* src,
    const int64_t* idx,
    T* dst);
template <class T>
void index_gather_last(
    int64_t planes,
    int64_t small,
    int64_t large,
    const T* src,
    const int64_t* idx,
    T* dst);
template <class T>
void index_scatter(
    int64_t planes,
    int64_t small,
    int64_t large,
    const T* src,
    const int64_t* idx,
    T* dst,
    bool accumulate);

}  // namespace voxgrad::kernels
