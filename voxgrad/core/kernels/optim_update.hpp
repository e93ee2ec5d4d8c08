#pragma once
// Fused, multi-tensor optimizer updates: one parallel, vectorised pass over
// every parameter of a group (torch's foreach / fused Adam idea). Raw
// pointers; the optimizers in voxgrad/optim/ own state, options and scalars.
//
// Each element is updated by exactly the operations of the scalar formula,
// in the same order and type, with no fused multiply-add: the result is the
// same bits as a plain loop, on every ISA and for any thread count.

#include <cstdint>

namespace voxgrad::kernels {

/// One tensor of an Adam / AdamW step: n elements of p (updated in place),
/// its gradient g, the moments m and v, vmax (AMSGrad, else null), and the
/// per-tensor scalars that depend on its step count.
template <class T>
struct AdamTensor {
  T* p = nullptr;
  const T* g = nullptr;
  T* m = nullptr;
  T* v = nullptr;
  T* vmax = nullptr;
  int64_t n = 0;
  T neg_step = 0;  // -lr / (1 - beta1^t)
  T bc2_sqrt = 1;  // sqrt(1 - beta2^t)
};

/// The group's options, already in T (as a tensor op would round them).
template <class T>
struct AdamScalars {
  T sign = 1;       // -1 when maximizing
  bool l2 = false;  // Adam's weight decay: g += wd * p
  T wd = 0;
  bool decoupled = false;  // AdamW's: p *= decay first
  T decay = 1;             // 1 - lr * wd
  T b1 = 0, one_minus_b1 = 0, b2 = 0, one_minus_b2 = 0, eps = 0;
};

/// For every element of every tensor:
///   g' = sign * g (+ wd * p if l2);  p = p * decay if decoupled
///   m = m * b1 + (1 - b1) * g';  v = v * b2 + (1 - b2) * g' * g'
///   vmax = max(vmax, v) (NaN kept), v_hat = vmax or v
///   p = p + neg_step * m / (sqrt(v_hat) / bc2_sqrt + eps)
template <class T>
void adam_update(
    const AdamTensor<T>* tensors, int64_t count, const AdamScalars<T>& s);

/// One tensor of an SGD step; buf is null without momentum, and `fresh`
/// marks a momentum buffer created by this step (it takes the update as is).
template <class T>
struct SgdTensor {
  T* p = nullptr;
  const T* g = nullptr;
  T* buf = nullptr;
  int64_t n = 0;
  bool fresh = false;
};

template <class T>
struct SgdScalars {
  T sign = 1;
  bool has_wd = false;
  T wd = 0;
  T neg_lr = 0;
  T momentum = 0;
  T keep = 1;  // 1 - dampening
  bool nesterov = false;
};

/// For every element: d = sign * g (+ wd * p); with momentum
///   buf = fresh ? d : buf * momentum + keep * d
///   d = nesterov ? d + momentum * buf : buf
/// then p = p + neg_lr * d.
template <class T>
void sgd_update(
    const SgdTensor<T>* tensors, int64_t count, const SgdScalars<T>& s);

/// One tensor of an exponential moving average (nn::utils::
/// ExponentialMovingAverage): n elements of the average `avg` (updated in
/// place) and of the tracked values `p`.
template <class T>
struct EmaTensor {
  T* avg = nullptr;
  const T* p = nullptr;
  int64_t n = 0;
};

/// For every element: avg = avg - weight * (avg - p), weight = 1 - decay
/// (diffusers' EMAModel update; the same bits as that scalar loop).
template <class T>
void ema_update(const EmaTensor<T>* tensors, int64_t count, T weight);

}  // namespace voxgrad::kernels
