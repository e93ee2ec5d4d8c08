#pragma once
// Max unpooling, with libtorch's names, options and defaults
// (torch::nn::MaxUnpool3d, torch::nn::functional::max_unpool3d): the partial
// inverse of MaxPool3d, which puts each pooled value back at the position its
// index names and zeros everywhere else.
//
// NOTE [ Max unpooling ]
// ~~~~~~~~~~~~~~~~~~~~~~
// Input (N, C, d, h, w) or unbatched (C, d, h, w), and int64 indices of the
// same shape, each a flat position D * H * W-plane index (as
// MaxPool3dImpl::forward_with_indices returns) in [0, D * H * W) of the
// output plane; anything else is an error naming the index and the bound
// (PyTorch errors too). Output (N, C, D, H, W), per axis by default
// ```text
//   D = (d - 1) * stride - 2 * padding + kernel_size,
// ```
// or `output_size` (3 ints, or 5 with N and C first, as PyTorch), which
// must lie strictly between that default minus and plus the stride.
//
// Repeated indices (an element that was the maximum of several overlapping
// windows, or indices made by hand): the value written last in row-major
// order of the input wins, as PyTorch's CPU kernel (its CUDA kernel writes
// them in no fixed order). Ours is deterministic for any thread count: each
// (n, c) plane is written by one thread, in order. The gradient is the exact
// derivative of that function: each input element receives the output
// gradient at its index only if no later element overwrote it, else 0.
// PyTorch instead gives every repeat the gradient at the shared position
// (the same value counted once per repeat), which is not the derivative of
// its forward; with indices free of repeats (stride >= kernel_size) the two
// agree. The double backward is the forward again (the two are adjoint).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn {

/// MaxUnpool3dOptions(2).stride(2).padding(0); the MaxPool3d's options whose
/// indices it reads.
class MaxUnpool3dOptions {
 public:
  /// stride defaults to kernel_size, as in PyTorch.
  /* implicit */ MaxUnpool3dOptions(Int3 kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /* implicit */ MaxUnpool3dOptions(int64_t kernel_size)
      : MaxUnpool3dOptions(Int3(kernel_size)) {}
#define VOXGRAD_OPTION(type, name)   \
  MaxUnpool3dOptions& name(type v) { \
    name##_ = v;                     \
    return *this;                    \
  }                                  \
  const type& name() const {         \
    return name##_;                  \
  }
  VOXGRAD_OPTION(Int3, kernel_size)
  VOXGRAD_OPTION(Int3, stride)
  VOXGRAD_OPTION(Int3, padding)
#undef VOXGRAD_OPTION

 private:
  Int3 kernel_size_, stride_;
  Int3 padding_{0};
};

namespace functional {
/// MaxUnpool3dFuncOptions(2).stride(2).padding(0).output_size({5, 5, 5})
class MaxUnpool3dFuncOptions {
 public:
  /* implicit */ MaxUnpool3dFuncOptions(Int3 kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /* implicit */ MaxUnpool3dFuncOptions(int64_t kernel_size)
      : MaxUnpool3dFuncOptions(Int3(kernel_size)) {}
#define VOXGRAD_OPTION(type, name)       \
  MaxUnpool3dFuncOptions& name(type v) { \
    name##_ = v;                         \
    return *this;                        \
  }                                      \
  const type& name() const {             \
    return name##_;                      \
  }
  VOXGRAD_OPTION(Int3, kernel_size)
  VOXGRAD_OPTION(Int3, stride)
  VOXGRAD_OPTION(Int3, padding)
  /// The output's spatial size (3 ints, or 5 with N and C first); default
  /// (d - 1) * stride - 2 * padding + kernel_size per axis.
  VOXGRAD_OPTION(std::optional<std::vector<int64_t>>, output_size)
#undef VOXGRAD_OPTION

 private:
  Int3 kernel_size_, stride_;
  Int3 padding_{0};
  std::optional<std::vector<int64_t>> output_size_;
};

/// auto [y, i] = F::max_pool3d_with_indices(x, 2);
/// Tensor back = F::max_unpool3d(y, i, F::MaxUnpool3dFuncOptions(2));
/// NOTE [ Max unpooling ]: shapes, output_size, repeated indices.
Tensor max_unpool3d(
    const Tensor& x,
    const Tensor& indices,
    const MaxUnpool3dFuncOptions& options);
}  // namespace functional

/// The values of a max pool put back at their indices, zeros elsewhere
/// (NOTE [ Max unpooling ]).
/// ```cpp
/// nn::MaxPool3d pool(nn::MaxPool3dOptions(2));
/// nn::MaxUnpool3d unpool(nn::MaxUnpool3dOptions(2));
/// auto [y, i] = pool->forward_with_indices(x);
/// Tensor back = unpool(y, i, x.shape());  // output_size: x's (odd) size
/// ```
class MaxUnpool3dImpl : public Module {
 public:
  explicit MaxUnpool3dImpl(const MaxUnpool3dOptions& options);
  Tensor forward(
      const Tensor& x,
      const Tensor& indices,
      const std::optional<std::vector<int64_t>>& output_size = std::nullopt);
  const MaxUnpool3dOptions& options() const {
    return options_;
  }

 protected:
  std::string extra_repr() const override;

 private:
  MaxUnpool3dOptions options_;
};
VOXGRAD_MODULE(MaxUnpool3d);

}  // namespace voxgrad::nn

VOXGRAD_PUBLIC_END
