// Walks voxgrad/autograd/ops.def: every listed op must have a float64 gradcheck
// and gradgradcheck case here, or this test fails. Inputs keep away from kinks
// (relu at 0, ties in max, clamp bounds) where derivatives do not exist.

#include <functional>
#include <map>

#include "test_util.hpp"
#include "voxgrad/autograd/conv_ops.hpp"
#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/pointwise_backward.hpp"
#include "voxgrad/autograd/pool_ops.hpp"

namespace voxgrad {
namespace {

struct OpCase {
  std::string label;
  TensorList inputs;
  GradcheckFn fn;
  GradcheckOptions options{};
  bool gradgrad = true;
};

Generator& gen() {
  static Generator g(2024);
  return g;
}

Tensor leaf(Tensor t) {
  return t.requires_grad_();
}
Tensor normal64(const Shape& s) {
  return leaf(randn(s, kFloat64, &gen()));
}
/// N(0, scale^2).
Tensor scaled64(const Shape& s, double scale) {
  return leaf((randn(s, kFloat64, &gen()) * scale).detach());
}
Tensor positive64(const Shape& s) {
  return leaf(uniform(s, 0.5, 2.0, kFloat64, &gen()));
}
/// |x| >= 0.2: safely away from 0 for relu/abs/leaky_relu.
Tensor off_zero64(const Shape& s) {
  const Tensor u = uniform(s, -1.0, 1.0, kFloat64, &gen());
  return leaf((sign(u) * 0.2 + u).detach());
}

std::map<std::string, std::vector<OpCase>> op_cases() {
  std::map<std::string, std::vector<OpCase>> c;
  auto add = [&](const std::string& op, OpCase oc) {
    c[op].push_back(std::move(oc));
  };

  add("add", {"broadcast",
              {normal64({2, 3, 4}), normal64({3, 1})},
              [](const TensorList& in) { return in[0] + in[1]; }});
  add("sub", {"broadcast",
              {normal64({2, 3}), normal64({3})},
              [](const TensorList& in) { return in[0] - in[1]; }});
  add("mul", {"outer",
              {normal64({2, 3, 1}), normal64({1, 4})},
              [](const TensorList& in) { return in[0] * in[1]; }});
  add("div", {"broadcast",
              {normal64({3, 4}), positive64({4})},
              [](const TensorList& in) { return in[0] / in[1]; }});
  add("pow", {"tensor exponent",
              {positive64({3, 4}), normal64({3, 4})},
              [](const TensorList& in) { return pow(in[0], in[1]); }});
  {
    const Tensor a = normal64({3, 4});
    const Tensor gap = off_zero64({3, 4});
    const Tensor b = leaf((a + gap).detach());
    add("maximum", {"no ties", {a, b}, [](const TensorList& in) {
                      return maximum(in[0], in[1]);
                    }});
    add("minimum", {"no ties", {a, b}, [](const TensorList& in) {
                      return minimum(in[0], in[1]);
                    }});
  }
  {
    const Tensor cond = tensor({1, 0, 0, 1, 1, 0}, {2, 3}, kFloat64);
    add("where",
        {"broadcast",
         {normal64({2, 3}), normal64({3})},
         [cond](const TensorList& in) { return where(cond, in[0], in[1]); }});
  }
  add("neg",
      {"", {normal64({4, 3})}, [](const TensorList& in) { return -in[0]; }});
  add("exp", {"", {normal64({4, 3})}, [](const TensorList& in) {
                return exp(in[0]);
              }});
  add("log", {"", {positive64({4, 3})}, [](const TensorList& in) {
                return log(in[0]);
              }});
  add("sqrt", {"", {positive64({4, 3})}, [](const TensorList& in) {
                 return sqrt(in[0]);
               }});
  add("abs", {"", {off_zero64({4, 3})}, [](const TensorList& in) {
                return abs(in[0]);
              }});
  {
    // Values 0.2 away from the bounds +-0.5 on both sides.
    const Tensor x = leaf(
        tensor({-1.2, -0.7, -0.3, 0.0, 0.3, 0.7, 1.1, -0.1}, {2, 4}, kFloat64));
    add("clamp", {"both bounds", {x}, [](const TensorList& in) {
                    return clamp(in[0], -0.5, 0.5);
                  }});
    add("clamp", {"min only", {x}, [](const TensorList& in) {
                    return clamp_min(in[0], -0.5);
                  }});
  }
  add("relu", {"", {off_zero64({4, 5})}, [](const TensorList& in) {
                 return relu(in[0]);
               }});
  add("leaky_relu",
      {"slope 0.2", {off_zero64({4, 5})}, [](const TensorList& in) {
         return leaky_relu(in[0], 0.2);
       }});
  add("sigmoid", {"", {normal64({4, 5})}, [](const TensorList& in) {
                    return sigmoid(in[0]);
                  }});
  add("tanh", {"", {normal64({4, 5})}, [](const TensorList& in) {
                 return tanh(in[0]);
               }});
  add("silu", {"", {normal64({4, 5})}, [](const TensorList& in) {
                 return silu(in[0]);
               }});
  {
    // beta 2, threshold 1: x = 0.5 is the switch; keep 0.1 away from it.
    const Tensor x = leaf(
        tensor({-2.0, -0.3, 0.1, 0.35, 0.65, 1.5, 3.0, -1.0}, {8}, kFloat64));
    add("softplus", {"both branches", {x}, [](const TensorList& in) {
                       return softplus(in[0], 2.0, 1.0);
                     }});
    add("softplus", {"default", {normal64({3, 3})}, [](const TensorList& in) {
                       return softplus(in[0]);
                     }});
  }
  // Math and activations of issue 11 (voxgrad/autograd/ops/activation.cpp).
  // Each op is called on its inputs directly, so the version-counter walk
  // below writes into the tensors the op saved; scaled64 spreads them.
  add("sin", {"", {scaled64({4, 3}, 2.0)}, [](const TensorList& in) {
                return sin(in[0]);
              }});
  add("cos", {"", {scaled64({4, 3}, 2.0)}, [](const TensorList& in) {
                return cos(in[0]);
              }});
  add("erf", {"", {normal64({4, 3})}, [](const TensorList& in) {
                return erf(in[0]);
              }});
  add("elu", {"alpha 1.3", {off_zero64({4, 5})}, [](const TensorList& in) {
                return elu(in[0], 1.3);
              }});
  add("gelu", {"exact", {scaled64({4, 5}, 2.0)}, [](const TensorList& in) {
                 return gelu(in[0]);
               }});
  add("gelu", {"tanh", {scaled64({4, 5}, 2.0)}, [](const TensorList& in) {
                 return gelu(in[0], "tanh");
               }});
  add("mish", {"", {scaled64({4, 5}, 2.0)}, [](const TensorList& in) {
                 return mish(in[0]);
               }});
  {
    // 0.2 away from the bounds -0.5 and 0.5.
    const Tensor x = leaf(
        tensor({-1.2, -0.7, -0.3, 0.0, 0.3, 0.7, 1.1, -0.1}, {2, 4}, kFloat64));
    add("hardtanh", {"bounds -0.5, 0.5", {x}, [](const TensorList& in) {
                       return hardtanh(in[0], -0.5, 0.5);
                     }});
  }
  add("softsign", {"", {off_zero64({4, 5})}, [](const TensorList& in) {
                     return softsign(in[0]);
                   }});
  add("prelu", {"per channel",
                {off_zero64({2, 3, 4}), normal64({3})},
                [](const TensorList& in) { return prelu(in[0], in[1]); }});
  add("prelu", {"one slope, 1-d input",
                {off_zero64({5}), normal64({1})},
                [](const TensorList& in) { return prelu(in[0], in[1]); }});
  // The activations' backward ops (voxgrad/autograd/pointwise_backward.hpp):
  // operand 1 is the activation's output or input, kept off the kinks.
  add("relu_backward",
      {"", {normal64({4, 5}), off_zero64({4, 5})}, [](const TensorList& in) {
         return relu_backward(in[0], in[1]);
       }});
  add("leaky_relu_backward", {"slope 0.2, broadcast grad",
                              {normal64({5}), off_zero64({4, 5})},
                              [](const TensorList& in) {
                                return leaky_relu_backward(in[0], in[1], 0.2);
                              }});
  add("sigmoid_backward",
      {"",
       {normal64({4, 5}), leaf(uniform({4, 5}, 0.05, 0.95, kFloat64, &gen()))},
       [](const TensorList& in) { return sigmoid_backward(in[0], in[1]); }});
  add("tanh_backward",
      {"",
       {normal64({4, 5}), leaf(uniform({4, 5}, -0.9, 0.9, kFloat64, &gen()))},
       [](const TensorList& in) { return tanh_backward(in[0], in[1]); }});
  add("silu_backward",
      {"", {normal64({4, 5}), normal64({4, 5})}, [](const TensorList& in) {
         return silu_backward(in[0], in[1]);
       }});
  {
    const Tensor x = leaf(
        tensor({-2.0, -0.3, 0.1, 0.35, 0.65, 1.5, 3.0, -1.0}, {8}, kFloat64));
    add("softplus_backward", {"beta 2, threshold 1, both branches",
                              {normal64({8}), x},
                              [](const TensorList& in) {
                                return softplus_backward(
                                    in[0], in[1], 2.0, 1.0);
                              }});
  }
  add("pow_scalar", {"fractional",
                     {positive64({3, 4})},
                     [](const TensorList& in) { return pow(in[0], 2.5); }});
  add("pow_scalar", {"integer, negative base",
                     {normal64({3, 4})},
                     [](const TensorList& in) { return pow(in[0], 3.0); }});
  add("sum", {"axes 0,2", {normal64({2, 3, 4})}, [](const TensorList& in) {
                return sum(in[0], {0, 2});
              }});
  add("sum", {"all, keepdim", {normal64({2, 3})}, [](const TensorList& in) {
                return sum(in[0], {}, true);
              }});
  add("amax", {"axis 1",
               {leaf(
                   arange(24, kFloat64)
                       .reshape({2, 3, 4})
                       .permute({0, 2, 1})
                       .contiguous()
                       .detach() *
                   0.37)},
               [](const TensorList& in) { return amax(in[0], {1}); }});
  add("matmul", {"batched broadcast",
                 {normal64({2, 3, 4}), normal64({4, 5})},
                 [](const TensorList& in) { return matmul(in[0], in[1]); }});
  add("matmul", {"vector",
                 {normal64({4}), normal64({3, 4, 2})},
                 [](const TensorList& in) { return matmul(in[0], in[1]); }});
  add("reshape", {"copying", {normal64({2, 3, 4})}, [](const TensorList& in) {
                    return in[0].transpose(0, 2).reshape({4, 6});
                  }});
  add("permute", {"", {normal64({2, 3, 4})}, [](const TensorList& in) {
                    return in[0].permute({1, 2, 0});
                  }});
  add("expand",
      {"new and size-1 axes", {normal64({3, 1})}, [](const TensorList& in) {
         return in[0].expand({2, 3, 4});
       }});
  add("slice", {"step 2", {normal64({5, 6})}, [](const TensorList& in) {
                  return in[0].slice(1, 1, 6, 2);
                }});
  add("slice_backward",
      {"step 2", {normal64({5, 3})}, [](const TensorList& in) {
         return slice_backward(in[0], {5, 6}, 1, 1, 2);
       }});
  add("cat", {"axis 1",
              {normal64({2, 3}), normal64({2, 2})},
              [](const TensorList& in) {
                return cat({in[0], in[1]}, 1);
              }});
  add("pad", {"pad and crop", {normal64({2, 3, 4})}, [](const TensorList& in) {
                return pad(in[0], {1, 2, -1, 1}, 0.5);
              }});
  // The padding modes and their adjoints (ops/pad.cpp): asymmetric amounts,
  // reflect and circular at their largest legal amounts on one axis.
  for (PaddingMode m :
       {PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Replicate,
        PaddingMode::Circular}) {
    const std::string name = padding_mode_name(m);
    const std::vector<int64_t> pads{
        m == PaddingMode::Circular ? 3 : 2, 1, 0, 2, 1, 1};
    add("pad",
        {name, {normal64({1, 2, 2, 3, 3})}, [m, pads](const TensorList& in) {
           return pad(in[0], pads, m);
         }});
    const Shape padded{1, 2, 4, 5, m == PaddingMode::Circular ? 7 : 6};
    add("pad_adjoint",
        {name, {normal64(padded)}, [m, pads](const TensorList& in) {
           return pad_adjoint(in[0], pads, m);
         }});
  }
  add("contiguous", {"", {normal64({3, 4})}, [](const TensorList& in) {
                       return in[0].transpose(0, 1).contiguous();
                     }});
  add("clone", {"", {normal64({3, 4})}, [](const TensorList& in) {
                  return in[0].clone();
                }});
  {
    // A float32 round trip rounds the perturbation: a coarser step is needed.
    OpCase oc{
        "float32 round trip", {normal64({3, 4})}, [](const TensorList& in) {
          return in[0].to(kFloat32).to(kFloat64);
        }};
    oc.options.eps = 1e-2;
    oc.options.atol = 1e-4;
    add("to_dtype", oc);
  }
  add("flip", {"two axes", {normal64({2, 3, 4})}, [](const TensorList& in) {
                 return flip(in[0], {0, -1});
               }});
  add("roll", {"two axes, negative shift",
               {normal64({2, 3, 4})},
               [](const TensorList& in) {
                 return roll(in[0], {1, -5}, {1, 2});
               }});
  add("roll", {"flattened", {normal64({2, 3})}, [](const TensorList& in) {
                 return roll(in[0], {4});
               }});
  add("cumsum", {"axis 1", {normal64({2, 4, 3})}, [](const TensorList& in) {
                   return cumsum(in[0], 1);
                 }});
  {
    // The three conv ops on one geometry: grouped, strided, padded, dilated,
    // and an input length the stride does not divide.
    kernels::ConvGeometry3d g;
    g.N = 2;
    g.C_in = 4;
    g.C_out = 2;
    g.groups = 2;
    g.in = {5, 4, 3};
    g.out = {3, 2, 2};
    g.kernel = {3, 2, 2};
    g.stride = {2, 2, 1};
    g.padding = {1, 0, 1};
    g.dilation = {1, 1, 2};
    const Shape xs{2, 4, 5, 4, 3}, ys{2, 2, 3, 2, 2}, ws{2, 1, 2, 3, 2, 2};
    add("conv3d", {"grouped, strided, dilated, with bias",
                   {normal64(xs), normal64(ws), normal64({2})},
                   [g](const TensorList& in) {
                     return autograd::conv3d_op(in[0], in[1], in[2], g);
                   }});
    add("conv_transpose3d", {"grouped, strided, dilated, with bias",
                             {normal64(ys), normal64(ws), normal64({4})},
                             [g](const TensorList& in) {
                               return autograd::conv_transpose3d_op(
                                   in[0], in[1], in[2], g);
                             }});
    add("conv3d_weight", {"grouped, strided, dilated",
                          {normal64(xs), normal64(ys)},
                          [g, ws](const TensorList& in) {
                            return autograd::conv3d_weight_op(
                                in[0], in[1], g, ws);
                          }});
    // Under each padding mode (NOTE [ Conv padding modes ]): the halo of the
    // transposed op is computed in slabs, so these check it too.
    for (PaddingMode m :
         {PaddingMode::Reflect, PaddingMode::Replicate,
          PaddingMode::Circular}) {
      const std::string name = padding_mode_name(m);
      add("conv3d", {name + ", grouped, strided, dilated, with bias",
                     {normal64(xs), normal64(ws), normal64({2})},
                     [g, m](const TensorList& in) {
                       return autograd::conv3d_op(in[0], in[1], in[2], g, m);
                     }});
      add("conv_transpose3d", {name + ", grouped, strided, dilated, with bias",
                               {normal64(ys), normal64(ws), normal64({4})},
                               [g, m](const TensorList& in) {
                                 return autograd::conv_transpose3d_op(
                                     in[0], in[1], in[2], g, m);
                               }});
    }
  }
  {
    // Upsampling (voxgrad/autograd/ops/upsample.cpp): non-integer scales, both
    // align_corners; each backward op is the adjoint, checked the same way.
    const Scales3 s17{1.7, 1.7, 1.7};
    add("upsample_nearest3d",
        {"scale 1.7", {normal64({1, 2, 2, 3, 2})}, [s17](const TensorList& in) {
           return upsample_nearest3d(in[0], {3, 5, 3}, s17);
         }});
    add("upsample_nearest3d_backward",
        {"scale 1.7", {normal64({1, 2, 3, 5, 3})}, [s17](const TensorList& in) {
           return upsample_nearest3d_backward(in[0], {1, 2, 2, 3, 2}, s17);
         }});
    add("upsample_trilinear3d",
        {"align_corners false, scale 1.7",
         {normal64({1, 2, 2, 3, 2})},
         [s17](const TensorList& in) {
           return upsample_trilinear3d(in[0], {3, 5, 3}, false, s17);
         }});
    add("upsample_trilinear3d",
        {"align_corners true, down and up",
         {normal64({2, 1, 4, 2, 3})},
         [](const TensorList& in) {
           return upsample_trilinear3d(in[0], {3, 3, 5}, true);
         }});
    add("upsample_trilinear3d_backward",
        {"align_corners false, scale 1.7",
         {normal64({1, 2, 3, 5, 3})},
         [s17](const TensorList& in) {
           return upsample_trilinear3d_backward(
               in[0], {1, 2, 2, 3, 2}, false, s17);
         }});
    // Pooling (voxgrad/autograd/ops/pool.cpp): average pooling with padding,
    // ceil_mode's partial last window and overlapping windows; adaptive
    // windows that overlap (5 -> 3) and split unevenly (4 -> 3).
    PoolSpec3d avg;
    avg.in = {4, 5, 3};
    avg.out = {3, 3, 2};
    avg.kernel = {2, 3, 2};
    avg.stride = {2, 2, 2};
    avg.padding = {1, 1, 1};
    avg.count_include_pad = false;
    add("avg_pool3d",
        {"padded, ceil_mode window, count_include_pad false",
         {normal64({2, 2, 4, 5, 3})},
         [avg](const TensorList& in) { return avg_pool3d_op(in[0], avg); }});
    add("avg_pool3d_backward",
        {"padded, ceil_mode window, count_include_pad false",
         {normal64({2, 2, 3, 3, 2})},
         [avg](const TensorList& in) {
           return avg_pool3d_backward_op(in[0], avg);
         }});
    PoolSpec3d adaptive;
    adaptive.adaptive = true;
    adaptive.in = {5, 4, 3};
    adaptive.out = {3, 3, 1};
    add("adaptive_avg_pool3d", {"5, 4, 3 -> 3, 3, 1",
                                {normal64({1, 3, 5, 4, 3})},
                                [adaptive](const TensorList& in) {
                                  return avg_pool3d_op(in[0], adaptive);
                                }});
    add("adaptive_avg_pool3d_backward", {"5, 4, 3 -> 3, 3, 1",
                                         {normal64({1, 3, 3, 3, 1})},
                                         [adaptive](const TensorList& in) {
                                           return avg_pool3d_backward_op(
                                               in[0], adaptive);
                                         }});
    // Max pooling: padding, dilation, ceil_mode's partial window and
    // overlapping windows (an input that is the maximum of several windows
    // gets their gradients summed); the seeded inputs keep every window's
    // maximum far above the rest (gradcheck's steps cannot change it).
    PoolSpec3d mx;
    mx.in = {4, 6, 6};
    mx.out = {3, 4, 3};  // ceil_mode's last windows on H and W
    mx.kernel = {2, 3, 2};
    mx.stride = {2, 2, 2};
    mx.padding = {1, 1, 0};
    mx.dilation = {1, 1, 2};
    add("max_pool3d",
        {"padded, dilated, ceil_mode window, overlapping",
         {normal64({2, 2, 4, 6, 6})},
         [mx](const TensorList& in) { return max_pool3d_op(in[0], mx); }});
    PoolSpec3d amx;
    amx.adaptive = true;
    amx.in = {5, 4, 3};
    amx.out = {3, 3, 2};
    add("adaptive_max_pool3d",
        {"5, 4, 3 -> 3, 3, 2 (overlapping)",
         {normal64({1, 3, 5, 4, 3})},
         [amx](const TensorList& in) { return max_pool3d_op(in[0], amx); }});
    PoolIndices idx;
    max_pool3d_op(randn({2, 2, 4, 6, 6}, kFloat64, &gen()), mx, &idx);
    add("max_pool3d_backward", {"indices of a padded, dilated pool",
                                {normal64({2, 2, 3, 4, 3})},
                                [mx, idx](const TensorList& in) {
                                  return max_pool3d_backward_op(in[0], idx, mx);
                                }});
    add("max_pool3d_gather", {"indices of a padded, dilated pool",
                              {normal64({2, 2, 4, 6, 6})},
                              [mx, idx](const TensorList& in) {
                                return max_pool3d_gather_op(in[0], idx, mx);
                              }});
    // Max unpooling at the indices of that pool, whose windows overlap:
    // positions named more than once (the last repeat wins, so the others'
    // derivative is 0), and at indices without repeats (a k2 s2 pool).
    {
      std::vector<int64_t> counts(2 * 2 * 4 * 6 * 6, 0);
      for (size_t j = 0; j < idx->size(); ++j)
        ++counts[j / 36 * 144 + static_cast<size_t>((*idx)[j])];
      REQUIRE(std::count_if(counts.begin(), counts.end(), [](int64_t n) {
                return n > 1;
              }) > 0);
    }
    add("max_unpool3d", {"indices with repeats (overlapping pool)",
                         {normal64({2, 2, 3, 4, 3})},
                         [idx](const TensorList& in) {
                           return max_unpool3d_op(in[0], idx, {4, 6, 6});
                         }});
    add("max_unpool3d_backward",
        {"indices with repeats (overlapping pool)",
         {normal64({2, 2, 4, 6, 6})},
         [idx](const TensorList& in) {
           return max_unpool3d_backward_op(in[0], idx, {3, 4, 3});
         }});
    PoolSpec3d k2;
    k2.in = {4, 5, 4};
    k2.out = {2, 2, 2};
    k2.kernel = k2.stride = {2, 2, 2};
    PoolIndices idx2;
    max_pool3d_op(randn({1, 3, 4, 5, 4}, kFloat64, &gen()), k2, &idx2);
    add("max_unpool3d", {"indices of a k2 s2 pool, odd output size",
                         {normal64({1, 3, 2, 2, 2})},
                         [idx2](const TensorList& in) {
                           return max_unpool3d_op(in[0], idx2, {4, 5, 4});
                         }});
    add("max_unpool3d_backward",
        {"indices of a k2 s2 pool, odd output size",
         {normal64({1, 3, 4, 5, 4})},
         [idx2](const TensorList& in) {
           return max_unpool3d_backward_op(in[0], idx2, {2, 2, 2});
         }});
    // BCE (voxgrad/autograd/ops/loss.cpp): input away from 0 and 1, target too.
    const Tensor w = uniform({3, 4}, 0.5, 1.5, kFloat64, &gen());
    add("binary_cross_entropy",
        {"weighted",
         {leaf(uniform({3, 4}, 0.1, 0.9, kFloat64, &gen())),
          leaf(uniform({3, 4}, 0.1, 0.9, kFloat64, &gen()))},
         [w](const TensorList& in) {
           return binary_cross_entropy_op(in[0], in[1], w);
         }});
    add("binary_cross_entropy_backward",
        {"",
         {normal64({3, 4}), leaf(uniform({3, 4}, 0.1, 0.9, kFloat64, &gen())),
          leaf(uniform({3, 4}, 0.1, 0.9, kFloat64, &gen()))},
         [](const TensorList& in) {
           return binary_cross_entropy_backward(in[0], in[1], in[2]);
         }});
    add("binary_cross_entropy_with_logits",
        {"",
         {normal64({3, 4}), leaf(uniform({3, 4}, 0.0, 1.0, kFloat64, &gen()))},
         [](const TensorList& in) {
           return binary_cross_entropy_with_logits_op(in[0], in[1]);
         }});
    add("binary_cross_entropy_with_logits_backward",
        {"",
         {normal64({3, 4}), normal64({3, 4}),
          leaf(uniform({3, 4}, 0.0, 1.0, kFloat64, &gen()))},
         [](const TensorList& in) {
           return binary_cross_entropy_with_logits_backward(
               in[0], in[1], in[2]);
         }});
    add("mse_loss",
        {"", {normal64({3, 4}), normal64({3, 4})}, [](const TensorList& in) {
           return mse_loss_op(in[0], in[1]);
         }});
    add("mse_loss_backward",
        {"",
         {normal64({3, 4}), normal64({3, 4}), normal64({3, 4})},
         [](const TensorList& in) {
           return mse_loss_backward(in[0], in[1], in[2]);
         }});
  }
  // Activation checkpointing: the recomputed block, a parameter it reads
  // (gradient through the node's extra edge) and double backward.
  add("checkpoint",
      {"block reading a parameter it was not given",
       {normal64({3, 4}), normal64({4})},
       [](const TensorList& in) {
         const Tensor w = in[1];  // reached through the closure, a leaf
         return autograd::checkpoint(
             [w](const TensorList& v) { return tanh(v[0] * w) * v[0]; },
             {in[0]});
       }});
  {
    // Indexing (voxgrad/autograd/ops/index.cpp): repeated indices, an index
    // smaller than the source on the other axes, a non-default alpha.
    const Tensor gi = tensor(
        {4, 0, 0, 2, 1, 1, 3, 4, 2, 2, 0, 3, 4, 4, 1, 0}, {2, 4, 2}, kInt64);
    add("gather",
        {"dim 1, repeats, index smaller",
         {normal64({2, 5, 3})},
         [gi](const TensorList& in) { return gather(in[0], 1, gi); }});
    const Tensor si = tensor(
        {0, 3, 3, 1, 1, 1, 2, 0, 3, 3, 3, 0, 1, 2, 2, 0, 0, 0,
         3, 2, 1, 0, 1, 2, 2, 2, 2, 1, 3, 0, 0, 0, 1, 3, 3, 3},
        {2, 6, 3}, kInt64);
    add("scatter_add", {"dim 1, repeats",
                        {normal64({2, 4, 3}), normal64({2, 6, 3})},
                        [si](const TensorList& in) {
                          return scatter_add(in[0], 1, si, in[1]);
                        }});
    add("scatter_add", {"index smaller than src",
                        {normal64({2, 4, 3}), normal64({3, 7, 4})},
                        [si](const TensorList& in) {
                          return scatter_add(in[0], 1, si, in[1]);
                        }});
    // Unique along dim 1, so the assignment has a gradient everywhere.
    const Tensor ui = tensor(
        {4, 0, 2, 1, 3, 0, 0, 4, 1, 2, 1, 3,
         3, 2, 4, 1, 0, 2, 0, 1, 3, 4, 4, 0},
        {2, 4, 3}, kInt64);
    add("scatter",
        {"dim 1, unique indices",
         {normal64({2, 5, 3}), normal64({2, 4, 3})},
         [ui](const TensorList& in) { return scatter(in[0], 1, ui, in[1]); }});
    add("scatter", {"value", {normal64({2, 5, 3})}, [ui](const TensorList& in) {
                      return scatter(in[0], 1, ui, -1.5);
                    }});
    const Tensor ii = tensor({4, 0, 0, 2, 4}, {5}, kInt64);
    add("index_select",
        {"dim 1, repeats", {normal64({3, 5, 2})}, [ii](const TensorList& in) {
           return index_select(in[0], 1, ii);
         }});
    const Tensor ai = tensor({1, 3, 1, 1, 0}, {5}, kInt64);
    add("index_add", {"dim 0, repeats, alpha 2.5",
                      {normal64({4, 3}), normal64({5, 3})},
                      [ai](const TensorList& in) {
                        return index_add(in[0], 0, ai, in[1], 2.5);
                      }});
  }
  {
    // Softmax family (voxgrad/autograd/ops/softmax.cpp): rows and per-voxel
    // columns (inner > 1), both through the fused first-order backward
    // (gradcheck) and the differentiable one (gradgradcheck).
    add("softmax", {"rows", {normal64({3, 7})}, [](const TensorList& in) {
                      return softmax(in[0], 1);
                    }});
    add("softmax", {"per voxel",
                    {normal64({2, 3, 2, 5})},
                    [](const TensorList& in) { return softmax(in[0], 1); }});
    add("log_softmax", {"rows", {normal64({3, 7})}, [](const TensorList& in) {
                          return log_softmax(in[0], -1);
                        }});
    add("log_softmax",
        {"per voxel", {normal64({2, 3, 2, 5})}, [](const TensorList& in) {
           return log_softmax(in[0], 1);
         }});
    const Tensor w = uniform({5}, 0.5, 1.5, kFloat64, &gen());
    const Tensor t = tensor({0, 4, -100, 2}, {4}, kInt64);
    add("cross_entropy", {"weight, ignore_index, label smoothing",
                          {normal64({4, 5})},
                          [w, t](const TensorList& in) {
                            return cross_entropy_op(in[0], t, w, -100, 0.2);
                          }});
    const Tensor tv =
        tensor({0, 2, 1, 255, 1, 1, 0, 2, 2, 0, 255, 1}, {2, 2, 3}, kInt64);
    add("cross_entropy", {"per voxel, ignore_index",
                          {normal64({2, 3, 2, 3})},
                          [tv](const TensorList& in) {
                            return cross_entropy_op(in[0], tv, {}, 255, 0.0);
                          }});
    const Tensor ei = tensor({1, 4, 2, 4, 0, 2, 2, 5}, {2, 4}, kInt64);
    // padding_idx and scale_grad_by_freq change the gradient on purpose (it
    // is no longer the derivative), so only the plain lookup is checked here;
    // they are compared with PyTorch in tests/golden/kit_core.json.
    add("embedding",
        {"plain, repeats", {normal64({6, 3})}, [ei](const TensorList& in) {
           return embedding_op(in[0], ei, std::nullopt, false);
         }});
  }
  return c;
}

}  // namespace

TEST_CASE(
    "every op in voxgrad/autograd/ops.def passes float64 gradcheck and "
    "gradgradcheck") {
  const auto cases = op_cases();
  for (std::string_view name : autograd::kOpNames) {
    const auto it = cases.find(std::string(name));
    REQUIRE_MESSAGE(
        it != cases.end(),
        "op '"
            << name
            << "' is in voxgrad/autograd/ops.def but has no gradcheck case in "
               "tests/autograd/test_op_list.cpp");
    for (const OpCase& oc : it->second) {
      CAPTURE(name);
      CAPTURE(oc.label);
      CHECK(gradcheck(oc.fn, oc.inputs, oc.options));
      if (oc.gradgrad)
        CHECK(gradgradcheck(oc.fn, oc.inputs, oc.options));
    }
  }
  for (const auto& entry : cases) {  // clang 14: no captured bindings
    const std::string& name = entry.first;
    const bool listed =
        std::find(autograd::kOpNames.begin(), autograd::kOpNames.end(), name) !=
        autograd::kOpNames.end();
    CHECK_MESSAGE(
        listed, "gradcheck case for '" << name << "', which is not in ops.def");
  }
}

namespace {

/// Fresh leaves with the values of `inputs` (so one case can run twice).
TensorList fresh(const TensorList& inputs) {
  TensorList out;
  for (const Tensor& t : inputs) {
    Tensor c = t.detach().clone();
    if (t.requires_grad())
      c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

TensorList wanted(const TensorList& in) {
  TensorList w;
  for (const Tensor& t : in)
    if (t.requires_grad())
      w.push_back(t);
  return w;
}

/// The gradients of <fn(in), g>, or an error message.
std::string grads_or_error(
    const Tensor& y, const TensorList& in, const Tensor& g, TensorList& out) {
  return test::error_of([&] { out = autograd::grad({y}, wanted(in), {g}); });
}

}  // namespace

// NOTE [ Version counter ] in voxgrad/core/storage.hpp: a backward must never
// read values written after its forward. For every op and every input (and
// the output), write new values in place between forward and backward: the
// backward must either refuse, naming the op and the versions, or give
// exactly the gradient of the untouched graph (the op did not need those
// values). An op whose record() forgets a tensor its backward reads fails.
TEST_CASE(
    "every op in ops.def refuses a backward through data written in place") {
  const auto cases = op_cases();
  int refused = 0, unaffected = 0;
  for (const auto& entry : cases) {
    for (const OpCase& oc : entry.second) {
      CAPTURE(entry.first);
      CAPTURE(oc.label);
      const TensorList in0 = fresh(oc.inputs);
      const Tensor y0 = oc.fn(in0);
      const Tensor g = randn(y0.shape(), y0.dtype(), &gen());
      TensorList want;
      const std::string err0 = grads_or_error(y0, in0, g, want);
      REQUIRE_MESSAGE(err0.empty(), err0);
      // Targets: each input, then the output (index in.size()).
      for (size_t j = 0; j <= oc.inputs.size(); ++j) {
        CAPTURE(j);
        const TensorList in = fresh(oc.inputs);
        const Tensor y = oc.fn(in);
        const Tensor target = j < in.size() ? in[j] : y;
        bool expanded = false;  // stride-0 views cannot be written
        for (int64_t d = 0; d < target.dim(); ++d)
          expanded =
              expanded || (target.strides()[static_cast<size_t>(d)] == 0 &&
                           target.size(d) > 1);
        if (expanded)
          continue;
        {
          NoGradGuard no_grad;
          target.detach().copy_(target.detach() * 1.5 + 0.25);
        }
        TensorList got;
        const std::string err = grads_or_error(y, in, g, got);
        if (!err.empty()) {
          CHECK_MESSAGE(
              err.find("modified by an in-place operation") !=
                  std::string::npos,
              err);
          CHECK_MESSAGE(
              err.find("backward through '") != std::string::npos, err);
          ++refused;
          continue;
        }
        ++unaffected;
        REQUIRE(got.size() == want.size());
        for (size_t k = 0; k < got.size(); ++k)
          CHECK_MESSAGE(test::bit_equal(got[k], want[k]), "gradient ", k);
      }
    }
  }
  // Both outcomes occur (mul needs its inputs, add does not).
  CHECK(refused > 10);
  CHECK(unaffected > 10);
}

namespace {

/// The ops of ops.def that move or convert data without arithmetic, so they
/// are defined for int64 too (reshaping and concatenating labels). Every
/// other op must refuse int64 (NOTE [ How int64 enters the kernels ]).
bool accepts_int64(std::string_view op) {
  static const std::vector<std::string_view> ops = {
      "reshape", "permute", "expand",      "slice", "slice_backward",
      "cat",     "pad",     "contiguous",  "clone", "to_dtype",
      "gather",  "scatter", "index_select"};
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

/// `inputs` with input i (or every input, for i == inputs.size()) made int64.
TensorList with_int64(const TensorList& inputs, size_t i) {
  TensorList out;
  for (size_t k = 0; k < inputs.size(); ++k)
    out.push_back(
        k == i || i == inputs.size() ? inputs[k].detach().to(kInt64)
                                     : inputs[k]);
  return out;
}

}  // namespace

// Feeds int64 to every op of ops.def, one input at a time and all at once:
// the op must refuse with a voxgrad::Error that starts with its name (as the
// user calls it: "pow" for pow_scalar) and names int64 and the float dtypes,
// or, for the data-movement ops, give an int64 result without a graph.
TEST_CASE("every op in ops.def refuses int64 inputs, naming both dtypes") {
  const auto cases = op_cases();
  int refused = 0;
  for (const auto& entry : cases) {
    const std::string& name = entry.first;
    for (const OpCase& oc : entry.second) {
      CAPTURE(name);
      CAPTURE(oc.label);
      if (accepts_int64(name)) {
        // Defined for int64; it may still refuse an argument int64 cannot
        // hold (pad's fill value 0.5), saying so.
        Tensor y;
        const std::string err = test::error_of(
            [&] { y = oc.fn(with_int64(oc.inputs, oc.inputs.size())); });
        if (!err.empty()) {
          CHECK_MESSAGE(err.find("int64") != std::string::npos, err);
          continue;
        }
        CHECK(y.grad_fn() == nullptr);
        CHECK((y.dtype() == kInt64 || name == "to_dtype"));
        continue;
      }
      for (size_t i = 0; i <= oc.inputs.size(); ++i) {
        CAPTURE(i);
        const std::string err =
            test::error_of([&] { oc.fn(with_int64(oc.inputs, i)); });
        REQUIRE_MESSAGE(!err.empty(), "the op accepted int64");
        // checkpoint runs the user's function: the op inside it refuses.
        const std::string op = err.substr(0, err.find(':'));
        CHECK_MESSAGE(
            (!op.empty() && (name.rfind(op, 0) == 0 || name == "checkpoint")),
            "the message does not start with the op's name: " << err);
        CHECK_MESSAGE(err.find("int64") != std::string::npos, err);
        CHECK_MESSAGE(err.find("float") != std::string::npos, err);
        ++refused;
      }
    }
  }
  CHECK(refused > 50);
}

TEST_CASE("recorded nodes carry the op's name from ops.def") {
  const Tensor a = randn({2, 2}).requires_grad_();
  CHECK(std::string((a + a).grad_fn()->name()) == "add");
  CHECK(std::string(a.sum().grad_fn()->name()) == "sum");
  CHECK(std::string(a.transpose(0, 1).grad_fn()->name()) == "permute");
}

TEST_CASE("gradcheck catches a wrong gradient and explains it") {
  // d/dx x^3 is 3x^2; a function whose backward says 2x^2 must fail.
  const Tensor x = tensor({0.5, 1.5}, kFloat64).requires_grad_();
  auto wrong = [](const TensorList& in) {
    const Tensor v = in[0];
    // value of x^3, gradient of (2/3) x^3: 2x^2 instead of 3x^2
    return pow(v, 3.0).detach() +
           (pow(v, 3.0) * (2.0 / 3.0) - pow(v, 3.0).detach() * (2.0 / 3.0));
  };
  CHECK_ERROR_CONTAINS(
      gradcheck(wrong, {x}), "gradcheck: gradient mismatch", "input 0");
  GradcheckOptions quiet;
  quiet.raise_exception = false;
  CHECK_FALSE(gradcheck(wrong, {x}, quiet));
  CHECK_ERROR_CONTAINS(
      gradcheck(wrong, {x.detach().to(kFloat32).requires_grad_()}), "float32",
      "float64");
}

}  // namespace voxgrad
