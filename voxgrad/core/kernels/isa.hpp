#pragma once
// Run-time instruction-set dispatch for the kernels other than conv3d
// (elementwise, reductions, matmul, resampling, optimizer updates).
//
// NOTE [ ISA dispatch ]
// ~~~~~~~~~~~~~~~~~~~~~
// Each kernel family has an <family>_impl.hpp templated on an xsimd
// architecture, compiled three times: in <family>.cpp for the baseline
// (xsimd's default architecture: SSE2 on x86-64), and in <family>_avx2.cpp /
// <family>_avx512.cpp with the -m flags CMakeLists.txt gives files so named.
// Each translation unit fills a table of plain function pointers; the
// baseline code picks a table with active_isa(). The code behind a table
// sees only plain data (pointers, sizes, enums), never a standard-library
// container, so no template instantiated with AVX-512 flags can be shared
// with baseline code (the linker keeps one copy of each inline function).
//
// What may differ between instruction sets (results are bit-identical for
// any thread count on every one of them):
// - The same bits on every ISA (a NaN result may differ in its sign bit,
//   which IEEE leaves open): every elementwise op, the transcendental ones
//   included (exp, log, tanh, sigmoid, ...: xsimd evaluates them with the
//   same operations everywhere because no table uses an FMA for them: the
//   AVX2 tables take xsimd::avx2, not fma3<avx2>, and xsimd 8.1's AVX-512F
//   fma is a multiply then an add), sums (NOTE [ Sums independent of the
//   ISA ] in reduce_impl.hpp), max-reductions, resampling, and the SGD /
//   Adam / AdamW updates (each lane repeats the scalar formula in order).
// - AVX2 and AVX-512 agree bit for bit, the baseline does not: matmul, whose
//   micro-kernels fuse each multiply-add (SSE2 has no FMA and rounds the
//   product), NOTE [ GEMM ] in matmul_impl.hpp.
// The library is compiled with -ffp-contract=off so that the compiler never
// fuses a multiply and an add we did not write as one (GCC and clang both
// would by default in C++), which would make results depend on the compiler.
// tests/core/test_isa_dispatch.cpp checks these promises on this CPU.

// GCC 12's AVX-512 intrinsics (sqrt, roundscale, unpack, ...) start from an
// "undefined" register that -Wmaybe-uninitialized flags wherever they are
// inlined. The per-ISA kernel headers open and close this exemption around
// their code, so it covers nothing else.
#if defined(__GNUC__) && !defined(__clang__)
#define VOXGRAD_SIMD_WARNINGS_BEGIN                               \
  _Pragma("GCC diagnostic push")                                  \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"") \
          _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define VOXGRAD_SIMD_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define VOXGRAD_SIMD_WARNINGS_BEGIN
#define VOXGRAD_SIMD_WARNINGS_END
#endif

namespace voxgrad::kernels {

enum class Isa { Auto, Generic, Avx2, Avx512 };

/// "generic", "avx2", "avx512" ("auto" for Isa::Auto).
const char* isa_name(Isa isa);

/// True when this CPU (and OS) can run code built for `isa`.
bool cpu_supports(Isa isa);

/// The instruction set the kernels use now: the forced one, else the best
/// the CPU supports. Never Isa::Auto.
Isa active_isa();

/// Forces the instruction set of every kernel family here (tests compare
/// them); Isa::Auto returns to the CPU's best. Returns false, changing
/// nothing, if this CPU cannot run `isa`.
bool set_isa(Isa isa);

/// The table of the active ISA, from a family's three table getters.
template <class Table>
const Table& pick_isa(
    const Table& (*generic)(),
    const Table& (*avx2)(),
    const Table& (*avx512)()) {
  switch (active_isa()) {
    case Isa::Avx512:
      return avx512();
    case Isa::Avx2:
      return avx2();
    default:
      return generic();
  }
}

}  // namespace voxgrad::kernels
