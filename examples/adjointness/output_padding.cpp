// Section 4: a stride-s convolution forgets up to s - 1 input sizes, so its
// transpose takes output_padding (or an output_size) to pick one back.

#include <cstdio>
#include <exception>
#include <string>

#include "lessons.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad::examples {
namespace {

int64_t conv_out(int64_t d, const Tensor& w) {
  return conv3d(zeros({1, 1, d, d, d}), w, {}, 2, 1).size(2);
}

int64_t transpose_out(int64_t d, const Tensor& w, int64_t output_padding) {
  return conv_transpose3d(zeros({1, 1, d, d, d}), w, {}, 2, 1, output_padding)
      .size(2);
}

// The first line of an error message, for display.
std::string first_line(const std::exception& e) {
  std::string m = e.what();
  return m.substr(0, m.find(" ["));
}

}  // namespace

bool lesson_output_padding() {
  std::printf(
      "4. Why output_padding exists\n"
      "   Conv3d(kernel 3, stride 2, padding 1): D_out = floor((D + 2 - 3) / "
      "2) + 1.\n"
      "   ConvTranspose3d, same settings: D_out = (D - 1) * 2 - 2 + 3 + "
      "output_padding.\n\n"
      "   conv input D | conv output | transpose, op=0 | transpose, op=1 | "
      "op giving D back\n"
      "   -------------+-------------+-----------------+-----------------+--"
      "---------------\n");
  const Tensor w = ones({1, 1, 3, 3, 3});
  bool ok = true;
  for (int64_t d = 7; d <= 12; ++d) {
    const int64_t o = conv_out(d, w);
    const int64_t t0 = transpose_out(o, w, 0), t1 = transpose_out(o, w, 1);
    const int op = t0 == d ? 0 : 1;
    ok = ok && (t0 == d || t1 == d);
    std::printf(
        "   %12lld | %11lld | %15lld | %15lld | %d\n",
        static_cast<long long>(d), static_cast<long long>(o),
        static_cast<long long>(t0), static_cast<long long>(t1), op);
  }
  std::printf(
      "\n   Inputs 9 and 10 both give 5 (the floor drops the difference), so "
      "the\n   transpose of a 5 cannot know which one it should produce: A is "
      "a\n   different matrix for each input size, and output_padding names "
      "the\n   one whose transpose you want. It only adds size at the far end; "
      "it\n   must be < stride (or < dilation), as in PyTorch:\n");
  try {
    transpose_out(5, w, 2);
    ok = false;
  } catch (const Error& e) {
    std::printf("     output_padding 2 -> %s\n", first_line(e).c_str());
  }
  std::printf(
      "   Or pass the size you want and let the op derive output_padding:\n");
  const Tensor y = zeros({1, 1, 5, 5, 5});
  const Tensor z = conv_transpose3d(y, w, {}, 2, 1, 0, 1, 1, {10, 10, 10});
  std::printf(
      "     output_size (10, 10, 10) -> %s (output_padding 1)\n",
      shape_str(z.shape()).c_str());
  ok = ok && z.size(2) == 10;
  try {
    conv_transpose3d(y, w, {}, 2, 1, 0, 1, 1, {11, 11, 11});
    ok = false;
  } catch (const Error& e) {
    std::printf("     output_size (11, 11, 11) -> %s\n", first_line(e).c_str());
  }
  std::printf("\n");
  return ok;
}

}  // namespace voxgrad::examples
