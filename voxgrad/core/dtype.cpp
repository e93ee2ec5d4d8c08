#include "voxgrad/core/dtype.hpp"

#include <cmath>

#include "voxgrad/core/checked.hpp"

namespace voxgrad {

int64_t integral_value(double value, const char* op, const char* what) {
  VOXGRAD_CHECK(
      std::isfinite(value) && value == std::trunc(value), op, ": ", what, " ",
      value,
      " is not a whole number, so an int64 tensor cannot hold it (use "
      "float32 or float64, or round it first)");
  return checked::to_int64(value, op, what);
}

namespace detail {
void throw_int64_in_float_kernel() {
  throw InternalError(
      "an int64 tensor reached a float32/float64-only kernel: the op that "
      "called it must refuse int64 first (require_floating, NOTE [ How int64 "
      "enters the kernels ] in voxgrad/core/dtype.hpp). This is a voxgrad "
      "bug; please report it");
}
}  // namespace detail

}  // namespace voxgrad
