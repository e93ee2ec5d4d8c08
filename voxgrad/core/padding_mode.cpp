#include "voxgrad/core/padding_mode.hpp"

#include "voxgrad/core/error.hpp"

namespace voxgrad {

const char* padding_mode_name(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::Zeros:
      return "zeros";
    case PaddingMode::Reflect:
      return "reflect";
    case PaddingMode::Replicate:
      return "replicate";
    case PaddingMode::Circular:
      return "circular";
  }
  return "unknown";  // not a PaddingMode value (a cast from an int)
}

PaddingMode parse_padding_mode(std::string_view name) {
  for (PaddingMode m :
       {PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Replicate,
        PaddingMode::Circular}) {
    if (name == padding_mode_name(m))
      return m;
  }
  VOXGRAD_FAIL(
      "padding_mode must be \"zeros\", \"reflect\", \"replicate\" or "
      "\"circular\" (got \"",
      name, "\")");
}

void check_padding_fits(
    const char* op,
    PaddingMode mode,
    const std::string& axis,
    int64_t size,
    int64_t lo,
    int64_t hi) {
  const char* m = padding_mode_name(mode);
  VOXGRAD_CHECK(
      lo >= 0 && hi >= 0, op, ": ", m, " padding amounts must be >= 0 (got (",
      lo, ", ", hi, ") on ", axis, ")");
  switch (mode) {
    case PaddingMode::Zeros:
      return;
    case PaddingMode::Reflect:
      // The mirror image excludes the edge element, so it holds size - 1
      // elements: PyTorch's "Padding size should be less than the
      // corresponding input dimension".
      VOXGRAD_CHECK(
          lo < size && hi < size, op,
          ": reflect padding must be smaller than the padded size on every ",
          "axis (got padding (", lo, ", ", hi, ") for size ", size, " on ",
          axis, ")");
      return;
    case PaddingMode::Replicate:
      VOXGRAD_CHECK(
          size >= 1, op, ": replicate padding needs at least one element to ",
          "repeat (got size ", size, " on ", axis, ")");
      return;
    case PaddingMode::Circular:
      // Each halo is a copy of a slice of the data: it may wrap once.
      VOXGRAD_CHECK(
          lo <= size && hi <= size, op,
          ": circular padding must be at most the padded size on every axis ",
          "(got padding (", lo, ", ", hi, ") for size ", size, " on ", axis,
          "; it would wrap around more than once)");
      return;
  }
}

}  // namespace voxgrad
