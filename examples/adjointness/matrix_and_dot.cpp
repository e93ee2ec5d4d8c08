// Sections 1 and 2: the transposed convolution as the transpose of a
// matrix, and the dot-product test.

#include <cmath>
#include <cstdio>
#include <vector>

#include "lessons.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad::examples {
namespace {

double dot(const Tensor& a, const Tensor& b) {
  return sum(a * b).item();
}

}  // namespace

bool lesson_matrix() {
  std::printf(
      "1. A convolution is a matrix\n"
      "   Conv3d with 1 channel, kernel (1, 1, 3) = [1 2 3], stride (1, 1, "
      "2),\n"
      "   padding (0, 0, 1) maps an input of width 5 to width 3. Applying it\n"
      "   to the 5 unit vectors gives the columns of its matrix A (3 x 5);\n"
      "   applying conv_transpose3d with the SAME weight to the 3 unit\n"
      "   vectors of the output gives the columns of a 5 x 3 matrix:\n\n");
  const Tensor w = tensor({1, 2, 3}, kFloat64).reshape({1, 1, 1, 1, 3});
  const Int3 stride{1, 1, 2}, padding{0, 0, 1};
  double a[3][5], at[5][3];
  for (int j = 0; j < 5; ++j) {
    Tensor e = zeros({1, 1, 1, 1, 5}, kFloat64);
    e.mutable_data<double>()[j] = 1;
    const Tensor col = conv3d(e, w, {}, stride, padding).contiguous();
    for (int i = 0; i < 3; ++i)
      a[i][j] = col.data<double>()[i];
  }
  for (int j = 0; j < 3; ++j) {
    Tensor e = zeros({1, 1, 1, 1, 3}, kFloat64);
    e.mutable_data<double>()[j] = 1;
    const Tensor col = conv_transpose3d(e, w, {}, stride, padding).contiguous();
    for (int i = 0; i < 5; ++i)
      at[i][j] = col.data<double>()[i];
  }
  std::printf("   A (Conv3d)            B (ConvTranspose3d)\n");
  bool ok = true;
  for (int r = 0; r < 5; ++r) {
    std::printf("   ");
    for (int c = 0; c < 5; ++c) {
      if (r < 3)
        std::printf("%2.0f ", a[r][c]);
      else
        std::printf("   ");
    }
    std::printf("       ");
    for (int c = 0; c < 3; ++c) {
      std::printf("%2.0f ", at[r][c]);
      ok = ok && at[r][c] == a[c][r];
    }
    std::printf("\n");
  }
  std::printf(
      "\n   B = A^T exactly: %s. Row i of A is the kernel placed at input\n"
      "   position 2i - 1 (stride 2, padding 1); the transpose scatters each\n"
      "   output value back through the same kernel taps.\n\n",
      ok ? "yes" : "NO");
  return ok;
}

bool lesson_dot_product(uint64_t seed) {
  std::printf(
      "2. The dot-product test on a real layer\n"
      "   A = Conv3d(3 -> 8, kernel 3, stride 2, padding 1), x: (2, 3, 9, 9, "
      "9),\n"
      "   y: (2, 8, 5, 5, 5), A^T y = conv_transpose3d(y, W) with the same\n"
      "   weight W (8, 3, 3, 3, 3). For any x and y, <A x, y> = <x, A^T "
      "y>:\n\n");
  bool ok = true;
  for (Dtype dt : {kFloat64, kFloat32}) {
    Generator gen(seed);
    const Tensor w = randn({8, 3, 3, 3, 3}, dt, &gen);
    const Tensor x = randn({2, 3, 9, 9, 9}, dt, &gen);
    const Tensor y = randn({2, 8, 5, 5, 5}, dt, &gen);
    const double lhs = dot(conv3d(x, w, {}, 2, 1), y);
    const double rhs = dot(x, conv_transpose3d(y, w, {}, 2, 1));
    const double rel = std::abs(lhs - rhs) / std::abs(lhs);
    const bool f64 = dt == kFloat64;
    std::printf(
        "   %s  <A x, y> = %.17g\n            <x, A^T y> = %.17g\n"
        "            relative difference %.1e (rounding of %s sums)\n",
        f64 ? "float64" : "float32", lhs, rhs, rel,
        f64 ? "float64" : "float32");
    ok = ok && rel < (f64 ? 1e-12 : 1e-4);
  }
  std::printf(
      "\n   The two sides add the same products w * x * y in different\n"
      "   orders, so they agree to rounding (~1e-16 per term in float64,\n"
      "   ~1e-7 in float32). This test is how voxgrad's kernels are checked\n"
      "   across its whole shape list.\n\n");
  return ok;
}

}  // namespace voxgrad::examples
