#pragma once
// Differentiable 3-D pooling ops (voxgrad/autograd/ops/pool.cpp) behind
// nn::MaxPool3d, nn::AvgPool3d, nn::AdaptiveAvgPool3d, nn::AdaptiveMaxPool3d
// and nn::MaxUnpool3d. Users reach them through those layers and
// nn::functional, which validate options the way PyTorch does; these
// functions take a validated PoolSpec3d and check tensors only. The kernels
// are voxgrad/core/kernels/pool3d (NOTE [ Pooling windows ]).
//
// Average pooling is linear: avg_pool3d and avg_pool3d_backward are each
// other's adjoint, so each one's backward is the other (as for upsampling).
// Max pooling is linear too once its choices are made: the forward keeps
// the index of each maximum, and its backward (scatter-add of the gradient
// to those indices) and that backward's backward (gather at them) are the
// adjoint pair max_pool3d_backward / max_pool3d_gather, so every derivative
// order exists (PyTorch's max_pool3d_with_indices_backward and its double
// backward do the same). Max unpooling is the other adjoint pair on the same
// indices: scatter where the last repeat wins, and the gather that reads
// each position for its last writer only.

#include <array>
#include <memory>
#include <vector>

#include "voxgrad/core/kernels/pool3d.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad {

/// One pooling geometry on (N, C, D, H, W) input: regular windows (kernel,
/// stride, padding, dilation) or adaptive ones (input -> output extents).
struct PoolSpec3d {
  bool adaptive = false;
  std::array<int64_t, 3> in{}, out{};
  std::array<int64_t, 3> kernel{1, 1, 1}, stride{1, 1, 1}, padding{},
      dilation{1, 1, 1};
  /// Average pooling only.
  bool count_include_pad = true;
  /// Average pooling only; 0 = none.
  int64_t divisor_override = 0;

  /// The window tables for `planes` = N * C planes.
  kernels::PoolWindows3d windows(int64_t planes) const;
};

/// Average pooling of x (N, C, spec.in) to (N, C, spec.out); the node is
/// adaptive_avg_pool3d when spec.adaptive.
Tensor avg_pool3d_op(const Tensor& x, const PoolSpec3d& spec);
/// Its adjoint: grad (N, C, spec.out) to (N, C, spec.in).
Tensor avg_pool3d_backward_op(const Tensor& grad, const PoolSpec3d& spec);

/// The flat in-plane index (d * H * W + h * W + w, NOTE [ Pooling windows ])
/// of the maximum of each output of a max pool, (N * C, spec.out) row-major.
/// Never written once made, so nodes share it instead of saving a tensor.
using PoolIndices = std::shared_ptr<const std::vector<int64_t>>;

/// Max pooling of x (N, C, spec.in) to (N, C, spec.out), ties and NaN as
/// PyTorch (NOTE [ Pooling windows ]); the node is adaptive_max_pool3d when
/// spec.adaptive. `indices`, if given, receives the indices of the maxima.
Tensor max_pool3d_op(
    const Tensor& x, const PoolSpec3d& spec, PoolIndices* indices = nullptr);
/// grad (N, C, spec.out) added into zeros (N, C, spec.in) at `indices`, in
/// output order (so repeated indices sum in a fixed order).
Tensor max_pool3d_backward_op(
    const Tensor& grad, const PoolIndices& indices, const PoolSpec3d& spec);
/// Its adjoint: x (N, C, spec.in) read at `indices`, (N, C, spec.out).
Tensor max_pool3d_gather_op(
    const Tensor& x, const PoolIndices& indices, const PoolSpec3d& spec);

/// The indices as an int64 tensor of `shape` (a copy: the tensor may be
/// written, the shared list never is).
Tensor pool_indices_tensor(const PoolIndices& indices, const Shape& shape);

/// Max unpooling (NOTE [ Max unpooling ] in voxgrad/nn/max_unpool.hpp): x
/// (N, C, d, h, w) written into zeros (N, C, out) at `indices`, N * C * d * h
/// * w flat in-plane positions in [0, prod(out)); a position named more than
/// once takes the value of the last (in row-major order of x).
Tensor max_unpool3d_op(
    const Tensor& x,
    const PoolIndices& indices,
    const std::array<int64_t, 3>& out);
/// Its adjoint: grad (N, C, D, H, W) read at `indices` into (N, C, out), 0
/// where a later index of the plane names the same position (that element
/// was overwritten, so its derivative is 0).
Tensor max_unpool3d_backward_op(
    const Tensor& grad,
    const PoolIndices& indices,
    const std::array<int64_t, 3>& out);

}  // namespace voxgrad
