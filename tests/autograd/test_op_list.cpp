// Walks voxgrad/autograd/ops.def: every listed op must have a float64 gradcheck
// and gradgradcheck case here, or this test fails. Inputs keep away from kinks
// (relu at 0, ties in max, clamp bounds) where derivatives do not exist.

#include <functional>
#include <map>

#include "test_util.hpp"
#include "voxgrad/autograd/conv_ops.hpp"
#include "voxgrad/autograd/nn_ops.hpp"
#include "voxgrad/autograd/pointwise_backward.hpp"

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
