// Section 7: padding modes. pad_m and pad_mᵀ as matrices, and the
// dot-product identity for Conv3d / ConvTranspose3d under every mode.

#include <cmath>
#include <cstdio>
#include <vector>

#include "lessons.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/padding_mode.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad::examples {
namespace {

constexpr int kN = 4, kP = 2, kL = kN + 2 * kP;  // one axis: 4 padded by 2

const PaddingMode kModes[] = {
    PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Replicate,
    PaddingMode::Circular};

/// A unit vector of `n` along the last axis of a (1, 1, 1, 1, n) tensor.
Tensor unit(int n, int j) {
  Tensor e = zeros({1, 1, 1, 1, n}, kFloat64);
  e.mutable_data<double>()[j] = 1;
  return e;
}

double dot(const Tensor& a, const Tensor& b) {
  return sum(a * b).item();
}

}  // namespace

bool lesson_padding_modes(uint64_t seed) {
  std::printf(
      "7. Padding modes: Conv3d_m = A_0 pad_m, ConvTranspose3d_m = pad_m^T "
      "A_0^T\n"
      "   Along one axis of %d values padded by %d, pad_m (what F.pad does) "
      "is an\n"
      "   %d x %d 0/1 matrix; pad_adjoint is voxgrad's pad_m^T. Columns of\n"
      "   pad_m are pad() of the unit vectors, columns of pad_adjoint are\n"
      "   pad_adjoint() of the unit vectors; printed below as rows, "
      "pad_m^T\n"
      "   on the left and pad_adjoint on the right:\n\n",
      kN, kP, kL, kN);
  const std::vector<int64_t> pads{kP, kP, 0, 0, 0, 0};
  bool ok = true;
  for (PaddingMode mode : kModes) {
    double p[kL][kN], pt[kN][kL];
    for (int j = 0; j < kN; ++j) {
      const Tensor col = pad(unit(kN, j), pads, mode).contiguous();
      for (int i = 0; i < kL; ++i)
        p[i][j] = col.data<double>()[i];
    }
    for (int j = 0; j < kL; ++j) {
      const Tensor col = pad_adjoint(unit(kL, j), pads, mode).contiguous();
      for (int i = 0; i < kN; ++i)
        pt[i][j] = col.data<double>()[i];
    }
    bool same = true;
    std::printf("   %s\n", padding_mode_name(mode));
    for (int r = 0; r < kN; ++r) {
      std::printf("    ");
      for (int c = 0; c < kL; ++c)
        std::printf(" %.0f", p[c][r]);
      std::printf("     ");
      for (int c = 0; c < kL; ++c) {
        std::printf(" %.0f", pt[r][c]);
        same = same && pt[r][c] == p[c][r];
      }
      std::printf("\n");
    }
    std::printf("     pad_adjoint = pad_m^T: %s\n", same ? "yes" : "NO");
    ok = ok && same;
  }
  std::printf(
      "\n   Row i marks every padded position holding a copy of x[i]; the\n"
      "   transpose adds those positions' values back onto x[i], then "
      "crops.\n"
      "   In 3-D, pad_m is the Kronecker product of the three axes' "
      "matrices.\n\n"
      "   The dot-product test under each mode, float64, W (8, 3, 3, 3, 3):\n"
      "   A = Conv3d(3 -> 8, kernel 3, stride s, padding 2, padding_mode m),\n"
      "   A^T y = conv_transpose3d(y, W, stride s, padding 2, padding_mode "
      "m):\n\n");
  for (int64_t stride : {1, 2}) {
    for (PaddingMode mode : kModes) {
      Generator gen(seed + static_cast<uint64_t>(stride));
      const Tensor w = randn({8, 3, 3, 3, 3}, kFloat64, &gen);
      const Tensor x = randn({2, 3, 7, 6, 5}, kFloat64, &gen);
      const Tensor ax = conv3d(x, w, {}, stride, 2, 1, 1, mode);
      const Tensor y = randn(ax.shape(), kFloat64, &gen);
      // output_size picks the output_padding that returns x's shape.
      const Tensor aty =
          conv_transpose3d(y, w, {}, stride, 2, 0, 1, 1, {7, 6, 5}, mode);
      const double lhs = dot(ax, y), rhs = dot(x, aty);
      const double rel = std::abs(lhs - rhs) / std::abs(lhs);
      std::printf(
          "   stride %lld  %-9s  <A x, y> = %+.13f  <x, A^T y> = %+.13f  "
          "rel %.0e\n",
          static_cast<long long>(stride), padding_mode_name(mode), lhs, rhs,
          rel);
      ok = ok && rel < 1e-12;
    }
  }
  std::printf(
      "\n   One weight tensor, every mode: ConvTranspose3d_m is the exact\n"
      "   adjoint of Conv3d_m (PyTorch's ConvTranspose3d accepts only "
      "zeros).\n\n");
  return ok;
}

}  // namespace voxgrad::examples
