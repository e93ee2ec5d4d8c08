#include "voxgrad/core/mem_overlap.hpp"

namespace voxgrad {

int64_t internal_overlap_axis(const Tensor& t) {
  if (!t.defined())
    return -1;
  for (size_t i = 0; i < t.shape().size(); ++i)
    if (t.strides()[i] == 0 && t.shape()[i] > 1)
      return static_cast<int64_t>(i);
  return -1;
}

std::string write_problem(const Tensor& t) {
  const int64_t axis = internal_overlap_axis(t);
  if (axis < 0)
    return "";
  return detail::concat(
      "an expanded view (stride 0 on axis ", axis, " of ", shape_str(t.shape()),
      "): its elements share memory, so it cannot be written in place");
}

}  // namespace voxgrad
