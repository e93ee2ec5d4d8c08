#pragma once
// Element types. float32 is the default; float64 runs end to end too (it is
// what gradient checks use).

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

enum class Dtype : uint8_t { Float32, Float64 };

inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kFloat64 = Dtype::Float64;

constexpr size_t itemsize(Dtype dt) {
  return dt == Dtype::Float64 ? 8 : 4;
}

/// "float32" / "float64", as NumPy and PyTorch spell them.
constexpr const char* dtype_name(Dtype dt) {
  return dt == Dtype::Float64 ? "float64" : "float32";
}

template <class T>
constexpr Dtype dtype_of() {
  static_assert(
      std::is_same_v<T, float> || std::is_same_v<T, double>,
      "voxgrad tensors hold float or double");
  return std::is_same_v<T, double> ? Dtype::Float64 : Dtype::Float32;
}

/// Calls f.template operator()<T>() with T the C++ type of `dt`:
///   dispatch(x.dtype(), [&]<class T>() { use(x.data<T>()); });
template <class F>
decltype(auto) dispatch(Dtype dt, F&& f) {
  if (dt == Dtype::Float64)
    return f.template operator()<double>();
  return f.template operator()<float>();
}

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
