// operator<< for Tensor, in PyTorch's manner: nested brackets, aligned
// columns, and "..." past 3 leading and trailing entries per axis once the
// tensor has more than 1000 elements.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad {
namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Printer {
  std::vector<double> values;  // contiguous copy
  std::vector<int64_t> ints;   // the same, exact, for int64 tensors
  Shape shape;
  Strides strides;
  bool summarize = false;
  bool scientific = false;
  int width = 0;

  std::string format(size_t i) const {
    if (!ints.empty())
      return std::to_string(ints[i]);
    const double v = values[i];
    char buf[64];
    if (std::isnan(v))
      return "nan";
    if (std::isinf(v))
      return v > 0 ? "inf" : "-inf";
    std::snprintf(buf, sizeof buf, scientific ? "%.4e" : "%.4f", v);
    return buf;
  }

  std::vector<int64_t> visible(int64_t n) const {
    std::vector<int64_t> idx;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i)
        idx.push_back(i);
      idx.push_back(-1);  // the ellipsis
      for (int64_t i = n - kEdgeItems; i < n; ++i)
        idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i)
        idx.push_back(i);
    }
    return idx;
  }

  void print(std::ostream& os, size_t axis, int64_t base, int indent) const {
    if (axis == shape.size()) {
      const std::string s = format(static_cast<size_t>(base));
      os << std::string(
                static_cast<size_t>(width) -
                    std::min(s.size(), static_cast<size_t>(width)),
                ' ')
         << s;
      return;
    }
    os << '[';
    const auto idx = visible(shape[axis]);
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k) {
        os << ',';
        if (axis + 1 == shape.size()) {
          os << ' ';
        } else {
          os << std::string(shape.size() - axis - 1, '\n')
             << std::string(static_cast<size_t>(indent + 1), ' ');
        }
      }
      if (idx[k] < 0) {
        os << "...";
      } else {
        print(os, axis + 1, base + idx[k] * strides[axis], indent + 1);
      }
    }
    os << ']';
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined())
    return os << "tensor(undefined)";
  Printer p;
  p.values = t.to_vector<double>();
  if (t.dtype() == kInt64)
    p.ints = t.to_vector<int64_t>();
  p.shape = t.shape();
  p.strides = contiguous_strides(t.shape());
  p.summarize = t.numel() > kSummarizeAbove;
  double max_abs = 0, min_abs = INFINITY;
  for (double v : p.values) {
    if (!std::isfinite(v))
      continue;
    max_abs = std::max(max_abs, std::abs(v));
    if (v != 0)
      min_abs = std::min(min_abs, std::abs(v));
  }
  p.scientific = max_abs >= 1e5 || (min_abs < 1e-4 && max_abs > 0);
  for (size_t i = 0; i < p.values.size(); ++i)
    p.width = std::max(p.width, static_cast<int>(p.format(i).size()));
  os << "tensor(";
  if (t.numel() == 0 && t.dim() > 0) {
    os << "[]";
  } else {
    p.print(os, 0, 0, 7);
  }
  os << ", dtype=" << dtype_name(t.dtype())
     << ", shape=" << shape_str(t.shape());
  if (const char* fn = t.grad_fn_name()) {
    os << ", grad_fn=" << fn;
  } else if (t.requires_grad()) {
    os << ", requires_grad=true";
  }
  return os << ')';
}

}  // namespace voxgrad
