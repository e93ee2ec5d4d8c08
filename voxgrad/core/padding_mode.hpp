#pragma once
// How a tensor is extended past its edges: PyTorch's padding modes, shared
// by the pad / pad_adjoint ops (voxgrad/autograd/ops.hpp), their kernels
// (voxgrad/core/kernels/pad3d.hpp) and Conv3d / ConvTranspose3d's
// padding_mode (voxgrad/nn/conv.hpp). See docs/padding-modes.md.
//
// Along one axis of size n padded by (lo, hi), padded position q in
// [0, lo + n + hi) holds the source element f(q), with f(q) = q - lo inside:
// ```text
// Zeros      0 in the halo (F.pad's "constant" with value 0)
// Reflect    mirrored about the edge element, which is not repeated:
//            [2 1 | 0 1 2 3 | 2 1]   needs lo, hi < n
// Replicate  the edge element repeated:
//            [0 0 | 0 1 2 3 | 3 3]   needs n >= 1
// Circular   wrapped around (periodic):
//            [2 3 | 0 1 2 3 | 0 1]   needs lo, hi <= n
// ```

#include <cstdint>
#include <string>
#include <string_view>
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

enum class PaddingMode { Zeros, Reflect, Replicate, Circular };

/// libtorch's spelling (torch::kCircular): Conv3dOptions(...).padding_mode(
/// voxgrad::kCircular), also available as nn::kCircular.
inline constexpr PaddingMode kZeros = PaddingMode::Zeros;
inline constexpr PaddingMode kReflect = PaddingMode::Reflect;
inline constexpr PaddingMode kReplicate = PaddingMode::Replicate;
inline constexpr PaddingMode kCircular = PaddingMode::Circular;

/// "zeros", "reflect", "replicate" or "circular" (PyTorch's padding_mode).
const char* padding_mode_name(PaddingMode mode);

/// The mode a PyTorch padding_mode string names; anything else throws a
/// voxgrad::Error that lists the four valid names.
/// ```cpp
/// PaddingMode m = parse_padding_mode("circular");
/// ```
PaddingMode parse_padding_mode(std::string_view name);

/// Checks that an axis of `size` elements can be padded by (lo, hi) in
/// `mode` (lo, hi >= 0; reflect: lo, hi < size; circular: lo, hi <= size;
/// replicate: size >= 1); otherwise throws a voxgrad::Error that starts
/// with `op`, names `axis` (e.g. "axis 2" or "depth"), the sizes and the
/// rule.
void check_padding_fits(
    const char* op,
    PaddingMode mode,
    const std::string& axis,
    int64_t size,
    int64_t lo,
    int64_t hi);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
