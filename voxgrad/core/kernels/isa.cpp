#include "voxgrad/core/kernels/isa.hpp"

#include <atomic>

namespace voxgrad::kernels {
namespace {

std::atomic<Isa> g_forced{Isa::Auto};

Isa best_isa() {
  static const Isa best = cpu_supports(Isa::Avx512) ? Isa::Avx512
                          : cpu_supports(Isa::Avx2) ? Isa::Avx2
                                                    : Isa::Generic;
  return best;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Auto:
      return "auto";
    case Isa::Generic:
      return "generic";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

bool cpu_supports(Isa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  // The AVX-512 files use F, BW, DQ and VL (CMakeLists.txt).
  if (isa == Isa::Avx512)
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && cpu_supports(Isa::Avx2);
  if (isa == Isa::Avx2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == Isa::Generic || isa == Isa::Auto;
}

Isa active_isa() {
  const Isa forced = g_forced.load(std::memory_order_relaxed);
  return forced == Isa::Auto ? best_isa() : forced;
}

bool set_isa(Isa isa) {
  if (!cpu_supports(isa))
    return false;
  g_forced.store(isa, std::memory_order_relaxed);
  return true;
}

}  // namespace voxgrad::kernels
