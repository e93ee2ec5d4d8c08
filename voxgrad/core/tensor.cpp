#include "voxgrad/core/tensor.hpp"

#include <cmath>
#include <cstring>

#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"

namespace voxgrad {

namespace detail {
void throw_dtype_mismatch(Dtype have, Dtype want) {
  VOXGRAD_FAIL(
      "data: tensor holds ", dtype_name(have), " but ", dtype_name(want),
      " was requested (convert with .to(Dtype) first)");
}
}  // namespace detail

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

const TensorImpl& Tensor::checked() const {
  VOXGRAD_CHECK(
      impl_ != nullptr,
      "tensor: this Tensor is undefined (default-constructed); it has no "
      "shape or data");
  return *impl_;
}

const Shape& Tensor::shape() const {
  return checked().shape;
}
const Strides& Tensor::strides() const {
  return checked().strides;
}
int64_t Tensor::dim() const {
  return static_cast<int64_t>(checked().shape.size());
}
int64_t Tensor::size(int64_t axis) const {
  const int64_t a = normalize_axis(axis, dim(), "size");
  return shape()[static_cast<size_t>(a)];
}
int64_t Tensor::numel() const {
  return voxgrad::numel(checked().shape);
}
Dtype Tensor::dtype() const {
  return checked().dtype;
}
int64_t Tensor::offset() const {
  return checked().offset;
}

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked();
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] == 1)
      continue;
    if (t.strides[i] != expected)
      return false;
    expected *= t.shape[i];
  }
  return true;
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return checked().storage == other.checked().storage;
}

const void* Tensor::raw_data() const {
  const TensorImpl& t = checked();
  return static_cast<const char*>(t.storage->data()) +
         t.offset * static_cast<int64_t>(itemsize(t.dtype));
}

void* Tensor::mutable_raw_data() const {
  const TensorImpl& t = checked();
  t.storage->bump_version();
  return static_cast<char*>(t.storage->data()) +
         t.offset * static_cast<int64_t>(itemsize(t.dtype));
}

uint64_t Tensor::version() const {
  return checked().storage->version();
}

double Tensor::item() const {
  VOXGRAD_CHECK(
      numel() == 1, "item: needs a tensor with exactly one element (got shape ",
      shape_str(shape()), ")");
  return dispatch(
      dtype(), [&]<class T>() { return static_cast<double>(*data<T>()); });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const Tensor c = contiguous().to(dtype_of<T>());
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

// ---- autograd handles ------------------------------------------------------

bool Tensor::requires_grad() const {
  return checked().requires_grad;
}

Tensor Tensor::grad() const {
  return checked().grad;
}

void Tensor::set_grad(const Tensor& grad) const {
  const TensorImpl& t = checked();
  if (grad.defined()) {
    VOXGRAD_CHECK(
        grad.shape() == t.shape && grad.dtype() == t.dtype,
        "set_grad: gradient must match the tensor (expected ",
        dtype_name(t.dtype), " ", shape_str(t.shape), ", got ",
        dtype_name(grad.dtype()), " ", shape_str(grad.shape()), ")");
  }
  impl_->grad = grad;
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  return checked().grad_fn;
}

bool Tensor::is_leaf() const {
  return checked().grad_fn == nullptr;
}

Tensor Tensor::detach() const {
  const TensorImpl& t = checked();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage;
  impl->shape = t.shape;
  impl->strides = t.strides;
  impl->offset = t.offset;
  impl->dtype = t.dtype;
  return Tensor(std::move(impl));
}

// ---- in-place ---------------------------------------------------------------

namespace {
void check_writable(const Tensor& t, const char* op) {
  VOXGRAD_CHECK(
      !(t.requires_grad() && autograd::GradMode::is_enabled()), op,
      ": a tensor that requires grad cannot be modified in place while "
      "autograd records, since the graph may need its old values (wrap the "
      "update in voxgrad::NoGradGuard, or modify a detach()ed copy)");
  for (size_t i = 0; i < t.shape().size(); ++i) {
    VOXGRAD_CHECK(
        t.strides()[i] != 0 || t.shape()[i] <= 1, op,
        ": the destination is an expanded view (stride 0 on axis ", i,
        " of shape ", shape_str(t.shape()),
        "), so elements share memory; write into contiguous() instead");
  }
}
}  // namespace

const Tensor& Tensor::fill_(double value) const {
  check_writable(*this, "fill_");
  kernels::fill(*this, value);
  return *this;
}

const Tensor& Tensor::zero_() const {
  return fill_(0.0);
}

const Tensor& Tensor::copy_(const Tensor& src) const {
  check_writable(*this, "copy_");
  VOXGRAD_CHECK(
      is_broadcastable_to(src.shape(), shape()), "copy_: source shape ",
      shape_str(src.shape()), " cannot be broadcast to destination shape ",
      shape_str(shape()));
  // A source overlapping the destination is staged so no element is read
  // after it was overwritten.
  kernels::copy(shares_storage_with(src) ? src.detach().clone() : src, *this);
  return *this;
}

// ---- factories
// ---------------------------------------------------------------

Tensor empty(const Shape& shape, Dtype dtype) {
  // Every tensor's memory is sized here, overflow-checked (core/checked.hpp).
  const int64_t n = checked::numel(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage =
      std::make_shared<Storage>(checked::nbytes(n, itemsize(dtype), "empty"));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor full(const Shape& shape, double value, Dtype dtype) {
  Tensor t = empty(shape, dtype);
  kernels::fill(t, value);
  return t;
}

Tensor zeros(const Shape& shape, Dtype dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(
      t.mutable_raw_data(), 0,
      static_cast<size_t>(t.numel()) * itemsize(dtype));
  return t;
}

Tensor ones(const Shape& shape, Dtype dtype) {
  return full(shape, 1.0, dtype);
}

Tensor scalar_tensor(double value, Dtype dtype) {
  return full({}, value, dtype);
}

Tensor arange(double start, double end, double step, Dtype dtype) {
  VOXGRAD_CHECK(
      std::isfinite(start) && std::isfinite(end) && std::isfinite(step) &&
          step != 0 && (end - start) / step >= 0,
      "arange: need finite start, end and a non-zero step pointing from start "
      "to end (got start ",
      start, ", end ", end, ", step ", step, ")");
  const int64_t n =
      checked::to_int64(std::ceil((end - start) / step), "arange", "length");
  checked::nbytes(n, itemsize(dtype), "arange");  // named here, not "empty"
  Tensor t = empty({n}, dtype);
  dispatch(dtype, [&]<class T>() {
    T* p = t.mutable_data<T>();
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor arange(int64_t end, Dtype dtype) {
  return arange(0.0, static_cast<double>(end), 1.0, dtype);
}

Tensor tensor(
    const std::vector<double>& values, const Shape& shape, Dtype dtype) {
  Tensor t = empty(shape, dtype);
  VOXGRAD_CHECK(
      static_cast<int64_t>(values.size()) == t.numel(),
      "tensor: ", values.size(), " values cannot fill shape ", shape_str(shape),
      " (", t.numel(), " elements)");
  dispatch(dtype, [&]<class T>() {
    T* p = t.mutable_data<T>();
    for (size_t i = 0; i < values.size(); ++i)
      p[i] = static_cast<T>(values[i]);
  });
  return t;
}

Tensor tensor(std::initializer_list<double> values, Dtype dtype) {
  return tensor(
      std::vector<double>(values), {static_cast<int64_t>(values.size())},
      dtype);
}

Tensor from_blob(const float* data, const Shape& shape) {
  Tensor t = empty(shape, kFloat32);
  VOXGRAD_CHECK(data != nullptr || t.numel() == 0, "from_blob: data is null");
  if (t.numel())
    std::memcpy(t.mutable_raw_data(), data, static_cast<size_t>(t.numel()) * 4);
  return t;
}

Tensor from_blob(const double* data, const Shape& shape) {
  Tensor t = empty(shape, kFloat64);
  VOXGRAD_CHECK(data != nullptr || t.numel() == 0, "from_blob: data is null");
  if (t.numel())
    std::memcpy(t.mutable_raw_data(), data, static_cast<size_t>(t.numel()) * 8);
  return t;
}

Tensor empty_like(const Tensor& t) {
  return empty(t.shape(), t.dtype());
}
Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape(), t.dtype());
}
Tensor ones_like(const Tensor& t) {
  return ones(t.shape(), t.dtype());
}
Tensor full_like(const Tensor& t, double value) {
  return full(t.shape(), value, t.dtype());
}

}  // namespace voxgrad
