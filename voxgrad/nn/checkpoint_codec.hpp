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

/// The tensor object of `t` (its contiguous elements, little-endian).
nlohmann::json encode_tensor(const Tensor& t);

/// Reads a tensor object. With `expect`, its shape and dtype must match
/// (checked before any allocation). Returns an undefined tensor after
/// adding the problems.
Tensor decode_tensor(
    const nlohmann::json& j,
    const std::string& where,
    const Tensor* expect,
    bool allow_nonfinite,
    Problems& problems);

}  // namespace voxgrad::checkpoint_detail
