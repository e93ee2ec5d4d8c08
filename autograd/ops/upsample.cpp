// 3-D nearest and trilinear upsampling and their adjoints, forward and
// backward side by side. See NOTE [ Upsampling as separable linear maps ] in
// autograd/nn_ops.hpp. The kernel lives here rather than in core/kernels
// because it is small and has a single user; it knows nothing about autograd.

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/nn_ops.hpp"
#include "autograd/node.hpp"
#include "core/parallel.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;

namespace {

enum class Mode { Nearest, Trilinear };

/// One axis of a separable map in CSR form: output index o reads the input
/// indices idx[start[o] .. start[o + 1]) with weights w[...].
template <class T>
struct AxisMap {
  int64_t in = 0;
  int64_t out = 0;
  std::vector<int64_t> start;
  std::vector<int64_t> idx;
  std::vector<T> w;
  /// Every row is a single weight 1 (nearest forward): a pure gather.
  bool unit = false;
};

/// PyTorch 1.13's CPU nearest forward (compute_indices_weights_nearest for
/// contiguous NCDHW input): scale = 1/scale_factor or in/out and the product
/// in T, floored in float, clamped to in - 1. Note that its backward uses
/// nearest_idx instead, which maps o -> o whenever out == in even when a
/// scale_factor != 1 gave that size; here the backward is the exact adjoint
/// of this forward.
template <class T>
int64_t nearest_index(
    int64_t o, int64_t in, int64_t out, std::optional<double> scale) {
  const T s = scale && *scale > 0 ? static_cast<T>(1.0 / *scale)
                                  : static_cast<T>(in) / static_cast<T>(out);
  const T real = s * static_cast<T>(o);
  return std::min(
      static_cast<int64_t>(std::floor(static_cast<float>(real))), in - 1);
}

template <class T>
AxisMap<T> nearest_map(int64_t in, int64_t out, std::optional<double> scale) {
  AxisMap<T> m{in, out, {}, {}, {}, true};
  for (int64_t o = 0; o < out; ++o) {
    m.start.push_back(o);
    m.idx.push_back(nearest_index<T>(o, in, out, scale));
    m.w.push_back(T(1));
  }
  m.start.push_back(out);
  return m;
}

/// PyTorch's area_pixel_compute_scale + compute_source_index_and_lambda: the
/// ratio in T, the source index in double (CPU acc_type), clamped at 0 when
/// !align_corners, the upper neighbour clamped to in - 1.
template <class T>
AxisMap<T> linear_map(
    int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  T ratio;
  if (align_corners) {
    ratio = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  } else {
    ratio = scale && *scale > 0 ? static_cast<T>(1.0 / *scale)
                                : static_cast<T>(in) / static_cast<T>(out);
  }
  AxisMap<T> m{in, out, {}, {}, {}, false};
  for (int64_t o = 0; o < out; ++o) {
    int64_t i0 = o, i1 = o;
    T l0 = 1, l1 = 0;
    if (out != in) {
      const double r = static_cast<double>(ratio);
      double real = align_corners ? r * static_cast<double>(o)
                                  : r * (static_cast<double>(o) + 0.5) - 0.5;
      if (!align_corners && real < 0)
        real = 0;
      i0 = static_cast<int64_t>(real);
      i1 = i0 + (i0 < in - 1 ? 1 : 0);
      l1 = static_cast<T>(real - static_cast<double>(i0));
      l0 = T(1) - l1;
    }
    m.start.push_back(2 * o);
    m.idx.insert(m.idx.end(), {i0, i1});
    m.w.insert(m.w.end(), {l0, l1});
  }
  m.start.push_back(2 * out);
  return m;
}

/// The transposed map (rows = old inputs), entries in increasing old output.
template <class T>
AxisMap<T> transposed(const AxisMap<T>& m) {
  AxisMap<T> t{m.out, m.in, std::vector<int64_t>(m.in + 1, 0), {}, {}, false};
  for (int64_t i : m.idx)
    ++t.start[static_cast<size_t>(i + 1)];
  for (size_t i = 1; i < t.start.size(); ++i)
    t.start[i] += t.start[i - 1];
  t.idx.resize(m.idx.size());
  t.w.resize(m.w.size());
  std::vector<int64_t> cursor(t.start.begin(), t.start.end() - 1);
  for (int64_t o = 0; o < m.out; ++o) {
    for (int64_t k = m.start[o]; k < m.start[o + 1]; ++k) {
      const auto pos = static_cast<size_t>(cursor[m.idx[k]]++);
      t.idx[pos] = o;
      t.w[pos] = m.w[k];
    }
  }
  return t;
}

// x: (P, md.in, mh.in, mw.in) contiguous; y: (P, md.out, mh.out, mw.out)
// contiguous. y = (A_d ⊗ A_h ⊗ A_w) x per plane. Parallel over (plane, output
// depth) slices of y. For each input depth slice a slice uses, the W pass
// (a gather) runs once per input row into `rows`, then rows are combined
// into the output slice with vectorisable axpys. Every element is summed over
// d, then h entries of w-sums, in a fixed order: any thread count gives the
// same bits.
template <class T>
void apply_map(
    const T* x,
    T* y,
    int64_t planes,
    const AxisMap<T>& md,
    const AxisMap<T>& mh,
    const AxisMap<T>& mw) {
  const int64_t iH = mh.in, iW = mw.in, iHW = iH * iW, iDHW = md.in * iHW;
  const int64_t oH = mh.out, oW = mw.out, oHW = oH * oW;
  const bool gather = md.unit && mh.unit && mw.unit;
  std::vector<char> row_used(static_cast<size_t>(iH), 0);
  for (int64_t i : mh.idx)
    row_used[static_cast<size_t>(i)] = 1;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, oHW));
  parallel_for(0, planes * md.out, grain, [&](int64_t u0, int64_t u1) {
    std::vector<T> rows(gather ? 0 : static_cast<size_t>(iH * oW));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t od = u % md.out;
      const T* xp = x + (u / md.out) * iDHW;
      T* yp = y + u * oHW;
      if (gather) {
        const T* xd = xp + md.idx[od] * iHW;
        for (int64_t oh = 0; oh < oH; ++oh) {
          const T* xr = xd + mh.idx[oh] * iW;
          T* yr = yp + oh * oW;
          for (int64_t ow = 0; ow < oW; ++ow)
            yr[ow] = xr[mw.idx[ow]];
        }
        continue;
      }
      std::fill(yp, yp + oHW, T(0));
      for (int64_t a = md.start[od]; a < md.start[od + 1]; ++a) {
        const T* xd = xp + md.idx[a] * iHW;
        for (int64_t ih = 0; ih < iH; ++ih) {
          if (!row_used[static_cast<size_t>(ih)])
            continue;
          const T* xr = xd + ih * iW;
          T* r = rows.data() + ih * oW;
          for (int64_t ow = 0; ow < oW; ++ow) {
            T s = 0;
            for (int64_t c = mw.start[ow]; c < mw.start[ow + 1]; ++c)
              s += mw.w[c] * xr[mw.idx[c]];
            r[ow] = s;
          }
        }
        for (int64_t oh = 0; oh < oH; ++oh) {
          T* yr = yp + oh * oW;
          for (int64_t b = mh.start[oh]; b < mh.start[oh + 1]; ++b) {
            const T wdh = md.w[a] * mh.w[b];
            const T* r = rows.data() + mh.idx[b] * oW;
            for (int64_t ow = 0; ow < oW; ++ow)
              yr[ow] += wdh * r[ow];
          }
        }
      }
    }
  });
}

/// Resamples src (N, C, spatial) to dst_shape (N, C, spatial'). Forward: the
/// map from src's extents to dst's; adjoint: the transpose of the map from
/// dst's extents to src's.
Tensor run_map(
    const Tensor& src,
    const Shape& dst_shape,
    Mode mode,
    bool align_corners,
    const Scales3& scales,
    bool adjoint) {
  const Tensor s = src.detach().contiguous();
  Tensor dst = empty(dst_shape, src.dtype());
  dispatch(src.dtype(), [&]<class T>() {
    std::vector<AxisMap<T>> maps;
    for (size_t a = 0; a < 3; ++a) {
      const int64_t from = (adjoint ? dst_shape : s.shape())[a + 2];
      const int64_t to = (adjoint ? s.shape() : dst_shape)[a + 2];
      AxisMap<T> m = mode == Mode::Nearest
                         ? nearest_map<T>(from, to, scales[a])
                         : linear_map<T>(from, to, align_corners, scales[a]);
      maps.push_back(adjoint ? transposed(m) : std::move(m));
    }
    apply_map<T>(
        s.data<T>(), dst.data<T>(), dst_shape[0] * dst_shape[1], maps[0],
        maps[1], maps[2]);
  });
  return dst;
}

Size3 spatial(const Shape& s) {
  return {s[2], s[3], s[4]};
}

Shape with_spatial(const Shape& s, const Size3& sp) {
  return {s[0], s[1], sp[0], sp[1], sp[2]};
}

void check_size(const Size3& size, const char* op, const char* what) {
  VOXGRAD_CHECK(
      size[0] > 0 && size[1] > 0 && size[2] > 0, op, ": every ", what,
      " extent must be >= 1 (got ", shape_str({size[0], size[1], size[2]}),
      ")");
}

void check_input(const Tensor& x, const char* op, const char* name) {
  VOXGRAD_CHECK(x.defined(), op, ": ", name, " is undefined");
  VOXGRAD_CHECK(
      x.dim() == 5, op, ": expected a 5-D ", name, " (N, C, D, H, W), got ",
      shape_str(x.shape()));
  check_size(spatial(x.shape()), op, name);
}

/// grad (N, C, out) of an op whose input had `input_size`.
void check_backward(
    const Tensor& grad, const Shape& input_size, const char* op) {
  check_input(grad, op, "grad");
  VOXGRAD_CHECK(
      input_size.size() == 5 && input_size[0] == grad.size(0) &&
          input_size[1] == grad.size(1),
      op, ": input_size must be 5-D with grad's N and C (got input_size ",
      shape_str(input_size), ", grad ", shape_str(grad.shape()), ")");
  check_size(
      {input_size[2], input_size[3], input_size[4]}, op, "input_size spatial");
}

}  // namespace

Tensor upsample_nearest3d(
    const Tensor& x, const Size3& out_size, const Scales3& scales) {
  check_input(x, "upsample_nearest3d", "input");
  check_size(out_size, "upsample_nearest3d", "output");
  const Shape in_shape = x.shape();
  return record(
      Op::upsample_nearest3d,
      run_map(
          x, with_spatial(in_shape, out_size), Mode::Nearest, false, scales,
          false),
      {x}, [in_shape, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_nearest3d_backward(g.grad, in_shape, scales)};
      });
}

Tensor upsample_nearest3d_backward(
    const Tensor& grad, const Shape& input_size, const Scales3& scales) {
  check_backward(grad, input_size, "upsample_nearest3d_backward");
  const Size3 out_size = spatial(grad.shape());
  return record(
      Op::upsample_nearest3d_backward,
      run_map(grad, input_size, Mode::Nearest, false, scales, true), {grad},
      [out_size, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_nearest3d(g.grad, out_size, scales)};
      });
}

Tensor upsample_trilinear3d(
    const Tensor& x,
    const Size3& out_size,
    bool align_corners,
    const Scales3& scales) {
  check_input(x, "upsample_trilinear3d", "input");
  check_size(out_size, "upsample_trilinear3d", "output");
  const Shape in_shape = x.shape();
  return record(
      Op::upsample_trilinear3d,
      run_map(
          x, with_spatial(in_shape, out_size), Mode::Trilinear, align_corners,
          scales, false),
      {x},
      [in_shape, align_corners, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_trilinear3d_backward(
            g.grad, in_shape, align_corners, scales)};
      });
}

Tensor upsample_trilinear3d_backward(
    const Tensor& grad,
    const Shape& input_size,
    bool align_corners,
    const Scales3& scales) {
  check_backward(grad, input_size, "upsample_trilinear3d_backward");
  const Size3 out_size = spatial(grad.shape());
  return record(
      Op::upsample_trilinear3d_backward,
      run_map(grad, input_size, Mode::Trilinear, align_corners, scales, true),
      {grad},
      [out_size, align_corners, scales](const BackwardArgs& g) -> TensorList {
        return {upsample_trilinear3d(g.grad, out_size, align_corners, scales)};
      });
}

}  // namespace voxgrad
