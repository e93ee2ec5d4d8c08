#pragma once
// The table of executors of one instruction set: conv3d_generic.cpp,
// conv3d_avx2.cpp and conv3d_avx512.cpp include this file, each compiled
// with its own -m flags, and make their table with make_executors<T, A>.
//
// Header graph (A -> B: A includes B); the four executors are independent:
//   gather_direct, gather_tile   -> gather_common -> gemm, pack, scratch
//   wgrad_lanes, wgrad_channels  -> wgrad_common  -> pack, scratch
//   wgrad_lanes, wgrad_channels, gemm -> blocking
//   gemm, pack -> simd -> index_math
//   pack -> ../conv3d_plan.hpp;  scratch -> ../conv3d_internal.hpp

#include "voxgrad/core/kernels/conv3d_engine/gather_direct.hpp"
#include "voxgrad/core/kernels/conv3d_engine/gather_tile.hpp"
#include "voxgrad/core/kernels/conv3d_engine/wgrad_channels.hpp"
#include "voxgrad/core/kernels/conv3d_engine/wgrad_lanes.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"

namespace voxgrad::kernels::detail {
namespace {

template <class T, class A>
constexpr ConvExecutors<T> make_executors() {
  return ConvExecutors<T>{
      &gather_direct<T, A>, &gather_tile<T, A>, &wgrad_lanes<T, A>,
      &wgrad_channels<T, A>};
}

/// What the executors compiled here run on.
template <class A>
constexpr IsaInfo isa_info_of(const char* name) {
  return IsaInfo{name, static_cast<int64_t>(sizeof(xsimd::batch<float, A>))};
}

}  // namespace
}  // namespace voxgrad::kernels::detail
