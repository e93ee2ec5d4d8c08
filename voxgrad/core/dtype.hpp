#pragma once
// Element types. float32 is the default; float64 runs end to end too (it is
// what gradient checks use). int64 holds indices and class labels: it is
// never differentiable and only the ops that take indices, the views and
// copies, comparisons and conversions accept it.
//
// NOTE [ How int64 enters the kernels ]
// dispatch() instantiates a kernel for float and double only; given an int64
// tensor it throws an InternalError, because every op must have refused the
// int64 input before (require_floating(), naming the op, the argument and
// both dtypes) or routed it to an integer kernel. dispatch_all() also
// instantiates int64_t and is used only by code written for integers too
// (copies, fills, index kernels). tests/autograd/test_op_list.cpp feeds
// int64 to every op of ops.def, so an op that forgets its check fails there
// with the InternalError instead of the op's own message.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "voxgrad/core/error.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

enum class Dtype : uint8_t { Float32, Float64, Int64 };

inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kFloat64 = Dtype::Float64;
inline constexpr Dtype kInt64 = Dtype::Int64;

constexpr size_t itemsize(Dtype dt) {
  return dt == Dtype::Float32 ? 4 : 8;
}

/// "float32" / "float64" / "int64", as NumPy and PyTorch spell them.
constexpr const char* dtype_name(Dtype dt) {
  switch (dt) {
    case Dtype::Float64:
      return "float64";
    case Dtype::Int64:
      return "int64";
    case Dtype::Float32:
      break;
  }
  return "float32";
}

/// float32 or float64: the dtypes that can carry gradients.
constexpr bool is_floating_point(Dtype dt) {
  return dt != Dtype::Int64;
}

template <class T>
constexpr Dtype dtype_of() {
  static_assert(
      std::is_same_v<T, float> || std::is_same_v<T, double> ||
          std::is_same_v<T, int64_t>,
      "voxgrad tensors hold float, double or int64_t");
  if constexpr (std::is_same_v<T, double>)
    return Dtype::Float64;
  else if constexpr (std::is_same_v<T, int64_t>)
    return Dtype::Int64;
  else
    return Dtype::Float32;
}

/// Throws voxgrad::Error unless `dt` is float32 or float64:
/// ```cpp
/// require_floating(x.dtype(), "softmax", "input");
/// ```
/// gives "softmax: input is int64, but softmax needs float32 or float64 ...".
inline void require_floating(Dtype dt, const char* op, const char* arg) {
  VOXGRAD_CHECK(
      is_floating_point(dt), op, ": ", arg, " is ", dtype_name(dt), ", but ",
      op,
      " needs float32 or float64 (int64 holds indices and labels; convert "
      "with .to(kFloat32) if you mean its values)");
}

/// `value` as an int64 element: it must be a whole number in int64's range
/// (an int64 tensor is never filled with a silently truncated 2.5):
/// ```cpp
/// int64_t two = integral_value(2.0, "full", "fill value");  // 2
/// ```
int64_t integral_value(double value, const char* op, const char* what);

namespace detail {
[[noreturn]] void throw_int64_in_float_kernel();
}

/// Calls f.template operator()<T>() with T = float or double, the C++ type of
/// `dt` (see NOTE [ How int64 enters the kernels ]):
/// ```cpp
/// dispatch(x.dtype(), [&]<class T>() { use(x.data<T>()); });
/// ```
template <class F>
decltype(auto) dispatch(Dtype dt, F&& f) {
  if (dt == Dtype::Int64)
    detail::throw_int64_in_float_kernel();
  if (dt == Dtype::Float64)
    return f.template operator()<double>();
  return f.template operator()<float>();
}

/// dispatch() that also instantiates T = int64_t, for code that is correct
/// for integers (copies, fills, index kernels).
template <class F>
decltype(auto) dispatch_all(Dtype dt, F&& f) {
  if (dt == Dtype::Int64)
    return f.template operator()<int64_t>();
  if (dt == Dtype::Float64)
    return f.template operator()<double>();
  return f.template operator()<float>();
}

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
