#pragma once
// Softmax, log-softmax and fused cross-entropy over the middle axis of a
// contiguous (outer, C, inner) array: C is the class axis, inner is 1 for
// rows ((N, C) logits) or the spatial size for per-voxel classes ((N, C, D,
// H, W) logits). They know nothing of autograd.
//
// Numerically stable: each row (or column) is shifted by its maximum before
// exp, and log-probabilities are (x - max) - log(sum exp(x - max)), never
// log(softmax). xsimd-vectorised along C for rows and along inner for
// columns; TBB-parallel over whole rows / column blocks, each computed in a
// fixed order, so results are bit-identical for any thread count. A row
// holding NaN gives NaN throughout (PyTorch's behaviour).

#include <cstdint>

namespace voxgrad::kernels {

struct ClassAxis {
  int64_t outer;    // N (or the product of the axes before C)
  int64_t classes;  // C
  int64_t inner;    // product of the axes after C (1 for (N, C))
};

/// y = softmax(x) (or log_softmax when `log`) over C.
template <class T>
void softmax_forward(const ClassAxis& s, const T* x, T* y, bool log);

/// dx from the output y and its gradient dy:
/// softmax: dx = y * (dy - sum_C(dy * y)); log: dx = dy - exp(y) sum_C(dy).
template <class T>
void softmax_backward(
    const ClassAxis& s, const T* y, const T* dy, T* dx, bool log);

/// The options of one cross-entropy evaluation (class-index targets).
template <class T>
struct CrossEntropyArgs {
  const int64_t* target;  // outer * inner labels in [0, C) or ignore_index
  const T* weight;        // C class weights, or nullptr for all 1
  int64_t ignore_index;
  double label_smoothing;  // epsilon in [0, 1]
};

/// Per position (n, i): lse = logsumexp over C, and
/// loss = (1 - eps) (-w_t logp_t) + eps / C * (-sum_c w_c logp_c)
/// (0 where the target is ignore_index), PyTorch's formula; loss and lse
/// hold outer * inner values. Targets must have been validated.
template <class T>
void cross_entropy_forward(
    const ClassAxis& s,
    const T* x,
    const CrossEntropyArgs<T>& a,
    T* loss,
    T* lse);

/// dx for the upstream gradient `grad` of each position's loss:
/// dx_c = grad (a p_c - eps / C w_c) - grad (1 - eps) w_t [c == t], with
/// p = exp(x - lse) and a = (1 - eps) w_t + eps / C sum_c w_c.
template <class T>
void cross_entropy_backward(
    const ClassAxis& s,
    const T* x,
    const CrossEntropyArgs<T>& a,
    const T* lse,
    const T* grad,
    T* dx);

}  // namespace voxgrad::kernels
