#pragma once
// The engines behind the three conv3d kernels, templated on an xsimd
// architecture and compiled once per instruction set: conv3d.cpp (baseline),
// conv3d_avx2.cpp and conv3d_avx512.cpp include this file, each with its own
// -m flags. Everything here has internal linkage and avoids standard-library
// templates that emit code, so the linker can never hand an AVX-512 copy of
// a helper to baseline code.
//
// NOTE [ Conv engine ]
// ~~~~~~~~~~~~~~~~~~~~
// Both engines work plane by plane: a plane is one destination depth index
// jd of one class (a class is the whole output of a conv, or one sub-pixel
// phase of a transposed conv): its (jh, jw) positions, vectorised in SIMD
// vectors of L positions ("columns").
//
// Packing. For a chunk of source channels the engine copies the source
// values the taps need into a small buffer, in one of two layouts:
//  - halo (rows of at least one vector): the source depth slices the task's
//    planes read, each padded with zeros and split into stride phases,
//      [channel][slice][height phase][hq][width phase][wq],
//    so that tap (td, th, tw) at position (jh, jw) reads the packed value at
//    a fixed offset from (jh, jw): off_h = s_h*q_h + phase, hq = jh + q_h,
//    likewise in width, slice = s_d*jd + off_d. Every source value is copied
//    once per task and chunk; a column is L consecutive jw of one row.
//  - expanded (rows shorter than a vector, e.g. 8 wide): per plane,
//      [channel][depth tap][height phase][width tap][hq][jw],
//    the width taps expanded (each row holds exactly what tap tw reads at
//    jw = 0 .. n_pos_w-1), so that a column of L consecutive flattened
//    positions may span rows.
// Either way each (channel, tap) pair k is an offset boff[k] into the
// buffer and each column v a base offset, and the value k contributes to
// column v is the vector at buf + col[v] + boff[k].
//
// gather (conv3d_fwd, conv3d_bwd_data): a register block of MR destination
// rows (channels) x NV columns accumulates sum_k A[k][r] * B(k, v), with A
// the weights of the chunk, packed per task as [row block][k][MR], in the
// order k = (depth tap, channel, height tap, width tap): the depth taps that
// fall outside the source for a plane are a contiguous range of k and are
// skipped. Convs (and stride-1 transposed convs) write straight into the
// output plane ("direct"); strided transposed convs compute all phases of
// some output depth slices into a tile and then interleave them into the
// slices, so every output line is written once, by one task.
//
// wgrad (conv3d_bwd_weight): the same packed buffers, vectorised over
// positions: acc[co][k][lane] += dy[co][q] * B(k, q), each lane summing its
// positions over (n, plane) in order; the lanes are summed in order at the
// end. The (n, plane) reduction may be split into R parts whose partial
// results are added in order; R depends on the geometry only.
//
// Determinism: every output element is one chain of operations whose order
// is fixed by the geometry and the instruction set (the channel chunk, the
// k order, the lanes, R, the planes per wgrad batch); the thread count only
// changes which task computes which output, and tasks partition the output.
// No choice reads num_threads() or the machine's load (kMinTasks is a
// constant): results are therefore bit-identical for any thread count.

#include "voxgrad/core/kernels/conv3d_engine/gather.hpp"
#include "voxgrad/core/kernels/conv3d_engine/wgrad.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class T, class A>
constexpr ConvEngines<T> make_engines(const char* name) {
  return ConvEngines<T>{name, &gather<T, A>, &wgrad<T, A>};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
