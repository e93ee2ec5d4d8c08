#pragma once
// voxgrad::Tensor: a shared handle to a strided view of a Storage, plus the
// autograd bookkeeping (requires_grad, grad, grad_fn). Copying a Tensor copies
// the handle, as in PyTorch: both names refer to the same tensor.
//
// Methods that compute (reshape, sum, ...) are differentiable ops; their
// definitions live with their backward in voxgrad/autograd/ops/*.cpp.

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "voxgrad/core/dtype.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/shape.hpp"
#include "voxgrad/core/storage.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

namespace autograd {
class Node;
}

class Generator;
struct TensorImpl;

/// An n-dimensional array of float32, float64 or int64 values: a handle
/// (shared, like torch::Tensor) to strided storage, with views, in-place
/// methods (const: they write through the handle) and reverse-mode autograd.
class Tensor {
 public:
  /// An undefined tensor (like torch::Tensor()): the "no tensor" value.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl);

  bool defined() const {
    return impl_ != nullptr;
  }

  // ---- metadata -----------------------------------------------------------
  const Shape& shape() const;
  const Strides& strides() const;
  int64_t dim() const;
  /// Extent of `axis` (negative counts from the end).
  int64_t size(int64_t axis) const;
  int64_t numel() const;
  Dtype dtype() const;
  /// Element offset of this view into its storage.
  int64_t offset() const;
  bool is_contiguous() const;
  /// True when the two handles share one storage (views of each other).
  bool shares_storage_with(const Tensor& other) const;

  /// Typed read-only pointer to element [0, ..., 0]; checks that T matches
  /// dtype().
  template <class T>
  const T* data() const;
  const void* raw_data() const;
  /// The same pointer for writing. It bumps the version counter shared by
  /// every view of the storage (NOTE [ Version counter ] in storage.hpp), so
  /// a backward that saved this data before the write refuses to run
  /// instead of computing a wrong gradient. Take it once per write, not per
  /// element.
  template <class T>
  T* mutable_data() const;
  void* mutable_raw_data() const;
  /// The storage's version counter: how many writes it has seen (PyTorch's
  /// Tensor._version).
  uint64_t version() const;

  /// The single value of a one-element tensor, as double.
  double item() const;
  /// The same, converted to T; item<int64_t>() is exact for int64 tensors.
  template <class T>
  T item() const {
    return static_cast<T>(item());
  }
  /// All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- autograd -----------------------------------------------------------
  bool requires_grad() const;
  /// Marks a leaf as needing a gradient: `w.requires_grad_()`.
  const Tensor& requires_grad_(bool enabled = true) const;
  /// The accumulated gradient (undefined until a backward reaches this leaf).
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  /// The node that made this tensor (null for leaves).
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  /// The op name of grad_fn() ("conv3d", ...), or null for leaves.
  const char* grad_fn_name() const;
  bool is_leaf() const;
  /// Reverse-mode sweep from this tensor; `grad` defaults to 1 for scalars.
  /// ```cpp
  /// loss.backward();
  /// ```
  void backward(
      const Tensor& grad = {},
      bool retain_graph = false,
      bool create_graph = false) const;
  /// Same data, cut from the graph.
  Tensor detach() const;

  // ---- differentiable views and copies (voxgrad/autograd/ops/shape.cpp)
  // ----------
  Tensor reshape(const Shape& shape) const;
  /// Like reshape, but never copies: throws if the strides do not allow it.
  Tensor view(const Shape& shape) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t a, int64_t b) const;
  /// Elements start, start+step, ... < end along `axis` (a view).
  Tensor slice(
      int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  /// Index `index` along `axis`, dropping that axis (a view).
  Tensor select(int64_t axis, int64_t index) const;
  Tensor unsqueeze(int64_t axis) const;
  Tensor squeeze(int64_t axis) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  /// Broadcasts size-1 axes to `shape` without copying.
  Tensor expand(const Shape& shape) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(Dtype dtype) const;

  // ---- reductions (voxgrad/autograd/ops/reduce.cpp)
  // -------------------------------
  Tensor sum() const;
  Tensor sum(const std::vector<int64_t>& axes, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<int64_t>& axes, bool keepdim = false) const;
  /// Maximum (PyTorch's amax: ties share the gradient equally).
  Tensor max() const;

  // ---- indexing (voxgrad/autograd/ops/index.cpp); see voxgrad::gather etc.
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter(int64_t dim, const Tensor& index, double value) const;
  Tensor scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor index_add(
      int64_t dim,
      const Tensor& index,
      const Tensor& source,
      double alpha = 1) const;
  Tensor take_along_dim(
      const Tensor& indices, std::optional<int64_t> dim = std::nullopt) const;
  Tensor masked_fill(const Tensor& mask, double value) const;
  Tensor argmax(
      std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor argmin(
      std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  /// (values, indices) along dim: `auto [v, i] = t.max(1);`
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  /// Minimum of all elements (amin: ties share the gradient equally).
  Tensor min() const;
  Tensor amax(
      const std::vector<int64_t>& axes = {}, bool keepdim = false) const;
  Tensor amin(
      const std::vector<int64_t>& axes = {}, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> topk(
      int64_t k,
      int64_t dim = -1,
      bool largest = true,
      bool sorted = true) const;

  // ---- in-place, never recorded -------------------------------------------
  // A Tensor is a handle (as in libtorch): writing through a const handle is
  // allowed, like writing through a `T* const`.
  /// Sets every element; refuses a leaf that requires grad unless under
  /// NoGradGuard (as PyTorch does).
  const Tensor& fill_(double value) const;
  const Tensor& zero_() const;
  /// Copies `src` (broadcast to this shape, converted to this dtype).
  const Tensor& copy_(const Tensor& src) const;

  const std::shared_ptr<TensorImpl>& impl() const {
    return impl_;
  }

 private:
  const TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

using TensorList = std::vector<Tensor>;

/// The state behind a Tensor handle.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  Dtype dtype = Dtype::Float32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;
  /// Leaves only: the node that accumulates into `grad`, shared by every
  /// graph that uses this leaf while any of them is alive.
  std::weak_ptr<autograd::Node> grad_accumulator;
};

// ---- factories ------------------------------------------------------------
/// Uninitialised contiguous tensor.
Tensor empty(const Shape& shape, Dtype dtype = kFloat32);
Tensor zeros(const Shape& shape, Dtype dtype = kFloat32);
Tensor ones(const Shape& shape, Dtype dtype = kFloat32);
Tensor full(const Shape& shape, double value, Dtype dtype = kFloat32);
/// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, Dtype dtype = kFloat32);
/// start, start+step, ... < end.
Tensor arange(
    double start, double end, double step = 1, Dtype dtype = kFloat32);
Tensor arange(int64_t end, Dtype dtype = kFloat32);
/// A 1-d tensor: `voxgrad::tensor({1.0, 2.0, 3.0})`.
Tensor tensor(std::initializer_list<double> values, Dtype dtype = kFloat32);
/// `values` (row-major) reshaped to `shape`; sizes must agree.
Tensor tensor(
    const std::vector<double>& values,
    const Shape& shape,
    Dtype dtype = kFloat32);
/// Copies numel(shape) elements from `data` (row-major).
Tensor from_blob(const float* data, const Shape& shape);
Tensor from_blob(const double* data, const Shape& shape);
/// An int64 tensor, exact for every value (tensor() goes through double).
Tensor from_blob(const int64_t* data, const Shape& shape);

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);

// ---- random (voxgrad/core/random.cpp); nullptr means the default generator
// --------
/// U[0, 1).
Tensor rand(
    const Shape& shape, Dtype dtype = kFloat32, Generator* gen = nullptr);
/// N(0, 1).
Tensor randn(
    const Shape& shape, Dtype dtype = kFloat32, Generator* gen = nullptr);
/// U[low, high).
Tensor uniform(
    const Shape& shape,
    double low,
    double high,
    Dtype dtype = kFloat32,
    Generator* gen = nullptr);
/// N(mean, std).
Tensor normal(
    const Shape& shape,
    double mean,
    double std,
    Dtype dtype = kFloat32,
    Generator* gen = nullptr);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);

/// Uniform integers in [low, high), int64 (torch::randint):
/// ```cpp
/// Tensor labels = randint(0, 5, {8, 16, 16, 16});
/// ```
Tensor randint(
    int64_t low, int64_t high, const Shape& shape, Generator* gen = nullptr);
/// Uniform integers in [0, high).
Tensor randint(int64_t high, const Shape& shape, Generator* gen = nullptr);

/// Prints dtype, shape and values (elided beyond 1000 elements):
/// ```text
/// tensor([[0.1, 0.2], [0.3, 0.4]], dtype=float32, shape=[2, 2])
/// ```
std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- template definitions -------------------------------------------------
template <>
int64_t Tensor::item<int64_t>() const;

namespace detail {
[[noreturn]] void throw_dtype_mismatch(Dtype have, Dtype want);
}

template <class T>
const T* Tensor::data() const {
  const TensorImpl& t = checked();
  if (t.dtype != dtype_of<T>())
    detail::throw_dtype_mismatch(t.dtype, dtype_of<T>());
  return static_cast<const T*>(t.storage->data()) + t.offset;
}

template <class T>
T* Tensor::mutable_data() const {
  const TensorImpl& t = checked();
  if (t.dtype != dtype_of<T>())
    detail::throw_dtype_mismatch(t.dtype, dtype_of<T>());
  t.storage->bump_version();
  return static_cast<T*>(t.storage->data()) + t.offset;
}

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
