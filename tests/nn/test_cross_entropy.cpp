// CrossEntropyLoss / NLLLoss (and softmax's stability) beyond the golden
// values: errors that name the value and the rule, identities between the
// fused op and its composition, extreme logits, modules and their buffers,
// and thread-count independence of the fused kernels.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

namespace F = functional;

Tensor ints(std::vector<int64_t> v, const Shape& shape) {
  return from_blob(v.data(), shape);
}

}  // namespace

TEST_CASE("cross_entropy refuses bad targets, naming value, position, rule") {
  const Tensor x = randn({3, 4});
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(x, ints({0, 4, 1}, {3})), "cross_entropy",
      "target value 4", "position [1]", "0 <= target < 4", "ignore_index -100");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(x, ints({0, -1, 1}, {3})), "target value -1");
  // ignore_index makes an otherwise invalid value legal.
  CHECK(std::isfinite(F::cross_entropy(
                          x, ints({0, 255, 1}, {3}),
                          F::CrossEntropyFuncOptions().ignore_index(255))
                          .item()));
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(x, ints({0, 1}, {2})), "cross_entropy", "target [2]",
      "[3]");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(x, zeros({3})), "cross_entropy", "int64", "float32");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(x.to(kInt64), ints({0, 1, 2}, {3})), "cross_entropy",
      "int64", "float32 or float64");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(
          x, ints({0, 1, 2}, {3}),
          F::CrossEntropyFuncOptions().weight(ones({3}))),
      "cross_entropy", "weight", "[3]", "[4]");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(
          x, ints({0, 1, 2}, {3}),
          F::CrossEntropyFuncOptions().label_smoothing(1.5)),
      "label_smoothing", "[0, 1]", "1.5");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(x, ints({0, 1, 2}, {3}), Reduction::BatchMean),
      "batchmean", "kl_div");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(
          x, softmax(randn({3, 4}), 1),
          F::CrossEntropyFuncOptions().ignore_index(0)),
      "ignore_index", "probabilities");
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(randn({4}), ints({1}, {1})), "cross_entropy",
      "unbatched", "0-d");
  CHECK_ERROR_CONTAINS(
      F::nll_loss(x, ints({0, 9, 1}, {3})), "nll_loss", "target value 9");
  // Per-voxel labels: the position is 4-d.
  Tensor labels = zeros({2, 3, 3, 3}, kInt64);
  labels.select(0, 1).select(1, 2).select(1, 0).fill_(7);
  CHECK_ERROR_CONTAINS(
      F::cross_entropy(randn({2, 5, 3, 3, 3}), labels), "target value 7",
      "position [1, 0, 2, 0]");
}

TEST_CASE("fused cross_entropy equals log_softmax + nll_loss") {
  Generator g(5);
  const Tensor x = randn({3, 6, 4, 5}, kFloat64, &g) * 3.0;
  Tensor t = randint(0, 6, {3, 4, 5}, &g);
  {
    NoGradGuard no_grad;
    t.select(1, 2).fill_(-100);
  }
  const Tensor w = uniform({6}, 0.5, 2.0, kFloat64, &g);
  for (Reduction r : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
    CAPTURE(reduction_name(r));
    const Tensor xa = x.detach().requires_grad_();
    const Tensor xb = x.detach().requires_grad_();
    const Tensor a =
        F::cross_entropy(xa, t, F::CrossEntropyFuncOptions(r).weight(w));
    const Tensor b =
        F::nll_loss(log_softmax(xb, 1), t, F::NLLLossFuncOptions(r).weight(w));
    CHECK(test::allclose(a, b, 1e-13, 1e-12));
    const Tensor gy = randn(a.shape(), kFloat64, &g);
    const auto ga = autograd::grad({a}, {xa}, {gy});
    const auto gb = autograd::grad({b}, {xb}, {gy});
    CHECK(test::allclose(ga[0], gb[0], 1e-13, 1e-12));
  }
}

TEST_CASE("cross_entropy and nll_loss: float64 gradcheck and gradgradcheck") {
  Generator g(6);
  const Tensor x = randn({3, 4, 2}, kFloat64, &g).requires_grad_();
  const Tensor t = ints({0, 3, -100, 1, 2, 2}, {3, 2});
  const Tensor q = softmax(randn({3, 4, 2}, kFloat64, &g), 1).requires_grad_();
  const Tensor w = uniform({4}, 0.5, 1.5, kFloat64, &g);
  for (Reduction r : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
    CAPTURE(reduction_name(r));
    const auto o = F::CrossEntropyFuncOptions(r).weight(w).label_smoothing(0.1);
    const auto indices = [&](const TensorList& in) {
      return F::cross_entropy(in[0], t, o);
    };
    const auto probabilities = [&](const TensorList& in) {
      return F::cross_entropy(in[0], in[1], o);
    };
    const auto nll = [&](const TensorList& in) {
      return F::nll_loss(in[0], t, F::NLLLossFuncOptions(r).weight(w));
    };
    CHECK(gradcheck(indices, {x}));
    CHECK(gradgradcheck(indices, {x}));
    CHECK(gradcheck(probabilities, {x, q}));
    CHECK(gradgradcheck(probabilities, {x, q}));
    CHECK(gradcheck(nll, {x}));
    CHECK(gradgradcheck(nll, {x}));
  }
}

TEST_CASE("softmax and cross_entropy stay finite for extreme logits") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dt));
    const Tensor x =
        tensor({1e4, -1e4, 0, 3e4, 3e4, -3e4}, {2, 3}, dt).requires_grad_();
    const Tensor p = softmax(x, 1);
    CHECK(p.to_vector<double>() == std::vector<double>{1, 0, 0, 0.5, 0.5, 0});
    const Tensor lp = log_softmax(x, 1);
    CHECK(lp.to_vector<double>()[0] == 0.0);
    CHECK(lp.to_vector<double>()[1] == -2e4);
    const Tensor l = F::cross_entropy(x, ints({1, 2}, {2}));
    CHECK(l.item() == doctest::Approx((2e4 + 6e4 + std::log(2.0)) / 2));
    l.backward();
    const auto gx = x.grad().to_vector<double>();
    for (double v : gx)
      CHECK(std::isfinite(v));
    CHECK(gx[1] == doctest::Approx(-0.5));
  }
}

TEST_CASE("the fused softmax and cross-entropy kernels ignore thread count") {
  Generator g(9);
  // Odd sizes: SIMD tails along C (rows) and along the voxels (columns).
  const Tensor rows = randn({517, 37}, kFloat32, &g) * 4.0f;
  const Tensor row_t = randint(0, 37, {517}, &g);
  const Tensor vox = randn({3, 7, 9, 11, 13}, kFloat32, &g) * 4.0f;
  const Tensor vox_t = randint(0, 7, {3, 9, 11, 13}, &g);
  const Tensor w = uniform({7}, 0.5, 1.5, kFloat32, &g);
  auto run = [&](int threads) {
    return test::with_threads(threads, [&] {
      const Tensor r = rows.detach().requires_grad_();
      const Tensor v = vox.detach().requires_grad_();
      const Tensor l1 = F::cross_entropy(
          r, row_t, F::CrossEntropyFuncOptions().label_smoothing(0.1));
      const Tensor l2 = F::cross_entropy(
          v, vox_t,
          F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.05));
      const Tensor s1 = softmax(r, 1), s2 = log_softmax(v, 1);
      const Tensor total = l1 + l2 + (s1 * s1).sum() + (s2 * 0.01).sum();
      const auto grads = autograd::grad({total}, {r, v});
      return TensorList{l1, l2, s1, s2, grads[0], grads[1]};
    });
  };
  const TensorList one = run(1);
  for (int threads : {2, 5}) {
    const TensorList many = run(threads);
    for (size_t k = 0; k < one.size(); ++k) {
      CAPTURE(threads);
      CAPTURE(k);
      CHECK(test::bit_equal(one[k], many[k]));
    }
  }
}

TEST_CASE("cross_entropy's target or weight written in place is caught") {
  const Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  const Tensor t = ints({0, 3, 1}, {3});
  const Tensor l = F::cross_entropy(x, t);
  t.fill_(2);
  CHECK_ERROR_CONTAINS(
      l.backward(), "backward through 'cross_entropy'",
      "modified by an in-place operation");
  const Tensor w = ones({4}, kFloat64);
  const Tensor lw = F::cross_entropy(
      x, ints({0, 3, 1}, {3}),
      F::CrossEntropyFuncOptions(Reduction::Sum).weight(w));
  w.fill_(2.0);
  CHECK_ERROR_CONTAINS(
      lw.backward(), "backward through 'cross_entropy'",
      "modified by an in-place operation");
}

TEST_CASE("CrossEntropyLoss and NLLLoss modules keep the weight as a buffer") {
  CrossEntropyLoss ce(CrossEntropyLossOptions()
                          .weight(ones({3}))
                          .ignore_index(0)
                          .label_smoothing(0.1));
  CHECK(ce->named_buffers().size() == 1);
  CHECK(ce->named_buffers()[0].first == "weight");
  std::ostringstream printed;
  printed << *ce;
  CHECK(
      printed.str().find("ignore_index=0, label_smoothing=0.1") !=
      std::string::npos);
  ce->to(kFloat64);
  const Tensor x = randn({2, 3}, kFloat64);
  CHECK(std::isfinite(ce(x, ints({1, 2}, {2})).item()));
  NLLLoss nll(NLLLossOptions(Reduction::Sum).weight(ones({3})));
  CHECK(nll->named_buffers().size() == 1);
  const Tensor lp = log_softmax(randn({2, 3}), 1);
  CHECK(
      nll(lp, ints({1, 2}, {2})).item() ==
      doctest::Approx(
          -(lp.select(0, 0).select(0, 1) + lp.select(0, 1).select(0, 2))
               .item()));
  // Unbatched input: (C) with a 0-d target, reduction none keeps it 0-d.
  const Tensor u = F::cross_entropy(
      randn({4}), ints({2}, {}), F::CrossEntropyFuncOptions(Reduction::None));
  CHECK(u.dim() == 0);
}

}  // namespace voxgrad::nn
