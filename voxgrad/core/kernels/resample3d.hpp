#pragma once
// Separable 3-D resampling (nearest and trilinear, PyTorch 1.13's index
// rules) and its exact adjoint: the kernel behind the upsample ops. Raw
// pointers, no autograd. See NOTE [ Upsampling as separable linear maps ] in
// voxgrad/autograd/nn_ops.hpp.

#include <array>
#include <cstdint>
#include <optional>

namespace voxgrad::kernels {

enum class ResampleMode { Nearest, Trilinear };

/// dst (planes, dst_size) = A src (planes, src_size), A = A_d ⊗ A_h ⊗ A_w the
/// resampling from src_size to dst_size; with `adjoint`, A is instead the
/// transpose of the resampling from dst_size to src_size. `scales` are the
/// user's scale factors per axis (they change PyTorch's index arithmetic).
/// Parallel over output slices; bit-identical for any thread count.
template <class T>
void resample3d(
    const T* src,
    T* dst,
    int64_t planes,
    const std::array<int64_t, 3>& src_size,
    const std::array<int64_t, 3>& dst_size,
    ResampleMode mode,
    bool align_corners,
    const std::array<std::optional<double>, 3>& scales,
    bool adjoint);

}  // namespace voxgrad::kernels
