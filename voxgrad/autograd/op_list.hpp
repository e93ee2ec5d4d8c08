#pragma once
// The op list of voxgrad/autograd/ops.def as an enum and a name table.

#include <array>
#include <string_view>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::autograd {

enum class Op {
#define VOXGRAD_OP(name) name,
#include "voxgrad/autograd/ops.def"
#undef VOXGRAD_OP
};

inline constexpr std::array kOpNames = {
#define VOXGRAD_OP(name) std::string_view(#name),
#include "voxgrad/autograd/ops.def"
#undef VOXGRAD_OP
};

inline constexpr size_t kOpCount = kOpNames.size();

constexpr const char* op_name(Op op) {
  return kOpNames[static_cast<size_t>(op)].data();
}

}  // namespace voxgrad::autograd

VOXGRAD_PUBLIC_END
