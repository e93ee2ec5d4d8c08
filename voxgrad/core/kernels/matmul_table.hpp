#pragma once
// The plain-data interface between matmul.cpp and the per-ISA GEMM of
// matmul_impl.hpp (NOTE [ ISA dispatch ] in isa.hpp). Internal header.

#include <cstdint>

#include "voxgrad/core/kernels/matmul.hpp"

namespace voxgrad::kernels::detail {

/// Reduction block of every GEMM: a C element is the sum over blocks of 256
/// (in order) of FMA chains. Part of the result's definition: the same on
/// every ISA, never tuned per machine.
inline constexpr int64_t kGemmKc = 256;

/// How matmul.cpp cut C into tasks: tiles of mc x nc (multiples of the
/// micro-kernel's mr and nr), tiles_m x tiles_n per batch entry.
struct GemmTiling {
  int64_t mc = 0, nc = 0, tiles_m = 0, tiles_n = 0;
};

template <class T>
struct MatmulTable {
  const char* name;
  int64_t mr, nr;  // the micro-kernel's register block
  /// Runs every tile of `t` (args.k >= 1; m, n >= 1).
  void (*gemm)(const GemmArgs<T>& args, const GemmTiling& t);
};

template <class T>
const MatmulTable<T>& matmul_generic();
template <class T>
const MatmulTable<T>& matmul_avx2();
template <class T>
const MatmulTable<T>& matmul_avx512();

}  // namespace voxgrad::kernels::detail
