#pragma once
// The adjointness lesson, one section per function; each prints numbers a
// student can follow and returns false if an identity it demonstrates does
// not hold (the smoke test then fails). The maths is in
// docs/adjointness.md.

#include <cstdint>
#include <string>

namespace voxgrad::examples {

/// 1. A tiny Conv3d written out as a matrix A, and conv_transpose3d with the
///    same weight written out as a matrix: it is A^T.
bool lesson_matrix();
/// 2. The dot-product test <A x, y> = <x, A^T y> on a real 3-D layer, in
///    float64 and float32.
bool lesson_dot_product(uint64_t seed);
/// 3. Conv3d's input gradient is ConvTranspose3d's forward and the reverse,
///    bit for bit; the two weight gradients are one computation.
bool lesson_gradients(uint64_t seed);
/// 4. Why output_padding exists: a stride-2 Conv3d maps two input sizes to
///    one output size, so its transpose needs to be told which to return.
bool lesson_output_padding();
/// 5. The checkerboard of stride-2 transposed convolutions (kernel 3 vs 4),
///    and the same pattern in a strided Conv3d's input gradient. Writes
///    checkerboard.png into `out_dir`.
bool lesson_checkerboard(const std::string& out_dir);
/// 6. The checkerboard-free alternative: a sub-voxel convolution (Conv3d +
///    PixelShuffle3d) starts with a period-2 pattern under the default init
///    and without one under ICNR. Writes icnr.png into `out_dir`.
bool lesson_icnr(const std::string& out_dir, uint64_t seed);
/// 7. Padding modes: pad_m and pad_adjoint as matrices (one is the
///    other's transpose), and <Conv3d_m x, y> = <x, ConvTranspose3d_m y>
///    for every mode and strides 1 and 2.
bool lesson_padding_modes(uint64_t seed);

}  // namespace voxgrad::examples
