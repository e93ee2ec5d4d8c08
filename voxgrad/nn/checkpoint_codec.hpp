#pragma once
// Internal to the checkpoint code (installed with the headers, not API):
// tensors to and from the {"shape", "dtype", "data"} objects of NOTE
// [ Checkpoint format, version 1 ] in voxgrad/nn/checkpoint.hpp (base64 of the
// elements' little-endian bytes).

#include <string>

#include <nlohmann/json.hpp>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/nn/checkpoint_problems.hpp"

namespace voxgrad::checkpoint_detail {

/// Tensors of more dimensions are refused by save() and load().
inline constexpr size_t kMaxDims = 16;

/// The tensor object of `t` (its contiguous elements, little-endian).
nlohmann::json encode_tensor(const Tensor& t);

/// Reads a tensor object. With `expect`, its shape must match, and its dtype
/// too unless `any_float_dtype` (optimizer state, cast on load as PyTorch
/// does); checked before any allocation. Returns an undefined tensor after
/// adding the problems.
Tensor decode_tensor(
    const nlohmann::json& j,
    const std::string& where,
    const Tensor* expect,
    bool allow_nonfinite,
    Problems& problems,
    bool any_float_dtype = false);

}  // namespace voxgrad::checkpoint_detail
