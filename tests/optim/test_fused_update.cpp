// The fused multi-tensor updates (voxgrad/core/kernels/optim_update.hpp,
// Optimizer::update_group) against the element-by-element loops they
// replaced, kept here verbatim as the reference: the same bits for SGD, Adam
// and AdamW under every option, for float and double, on every ISA, for 1
// and 2 threads, over parameters of many sizes (tails of every vector width)
// whose step counts differ (some skip steps).

#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "test_util.hpp"
#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/sgd.hpp"

namespace voxgrad::optim {
namespace {

// ---- the scalar loops of voxgrad/optim/{adam,sgd}.cpp before the fused
// kernel (commit 2a0cfea), on plain vectors ---------------------------------

template <class T>
struct RefAdamState {
  int64_t step = 0;
  std::vector<T> m, v, vmax;
};

template <class T>
void ref_adam(
    const AdamOptions& o,
    bool decoupled,
    std::vector<T>& p,
    const std::vector<T>& g,
    RefAdamState<T>& st) {
  st.step += 1;
  if (st.m.empty()) {
    st.m.assign(p.size(), T(0));
    st.v.assign(p.size(), T(0));
    if (o.amsgrad())
      st.vmax.assign(p.size(), T(0));
  }
  const double beta1 = o.betas().first, beta2 = o.betas().second;
  const double lr = o.lr(), wd = o.weight_decay();
  const double t = static_cast<double>(st.step);
  const double bias_correction1 = 1 - std::pow(beta1, t);
  const double bias_correction2 = 1 - std::pow(beta2, t);
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  T* vmax = o.amsgrad() ? st.vmax.data() : nullptr;
  const T sign = o.maximize() ? T(-1) : T(1);
  const bool l2 = !decoupled && wd != 0;
  const T wd_t = static_cast<T>(wd);
  const T decay = static_cast<T>(1 - lr * wd);
  const T b1 = static_cast<T>(beta1), one_minus_b1 = static_cast<T>(1 - beta1);
  const T b2 = static_cast<T>(beta2), one_minus_b2 = static_cast<T>(1 - beta2);
  const T bc2_sqrt = static_cast<T>(bias_correction2_sqrt);
  const T eps = static_cast<T>(o.eps());
  const T neg_step = static_cast<T>(-step_size);
  for (size_t i = 0; i < p.size(); ++i) {
    T gi = sign * g[i];
    if (l2)
      gi = gi + wd_t * p[i];
    if (decoupled)
      p[i] = p[i] * decay;
    st.m[i] = st.m[i] * b1 + one_minus_b1 * gi;
    st.v[i] = st.v[i] * b2 + one_minus_b2 * gi * gi;
    T v_hat = st.v[i];
    if (vmax) {
      if (!(vmax[i] >= st.v[i]) && !std::isnan(vmax[i]))
        vmax[i] = st.v[i];
      v_hat = vmax[i];
    }
    const T denom = std::sqrt(v_hat) / bc2_sqrt + eps;
    p[i] = p[i] + neg_step * st.m[i] / denom;
  }
}

template <class T>
void ref_sgd(
    const SGDOptions& o,
    std::vector<T>& p,
    const std::vector<T>& g,
    std::vector<T>& buf) {
  const bool has_wd = o.weight_decay() != 0;
  const T wd = static_cast<T>(o.weight_decay());
  const T neg_lr = static_cast<T>(-o.lr());
  const T sign = o.maximize() ? T(-1) : T(1);
  if (o.momentum() == 0) {
    for (size_t i = 0; i < p.size(); ++i) {
      T d = sign * g[i];
      if (has_wd)
        d = d + wd * p[i];
      p[i] = p[i] + neg_lr * d;
    }
    return;
  }
  const T mom = static_cast<T>(o.momentum());
  const T keep = static_cast<T>(1 - o.dampening());
  const bool fresh = buf.empty();
  if (fresh)
    buf.assign(p.size(), T(0));
  for (size_t i = 0; i < p.size(); ++i) {
    T d = sign * g[i];
    if (has_wd)
      d = d + wd * p[i];
    buf[i] = fresh ? d : buf[i] * mom + keep * d;
    d = o.nesterov() ? d + mom * buf[i] : buf[i];
    p[i] = p[i] + neg_lr * d;
  }
}

// ---- the comparison -------------------------------------------------------

const int64_t kSizes[] = {1, 3, 15, 16, 17, 31, 33, 1000, 40001};
constexpr int kSteps = 4;

// Gradient of parameter i at step k (NaN and inf included in one of them,
// so non-finite handling, AMSGrad's NaN rule among it, is compared too);
// parameter 2 has no gradient on step 1 (its step count falls behind).
template <class T>
std::vector<T> grad_values(size_t i, int k, int64_t n) {
  Generator gen(1000 * i + static_cast<uint64_t>(k));
  const Tensor t = randn({n}, dtype_of<T>(), &gen);
  std::vector<T> g(t.data<T>(), t.data<T>() + n);
  if (i == 7 && k == 2) {
    g[5] = std::numeric_limits<T>::quiet_NaN();
    g[9] = std::numeric_limits<T>::infinity();
  }
  return g;
}

template <class T>
std::vector<T> init_values(size_t i, int64_t n) {
  Generator gen(77 + i);
  const Tensor t = uniform({n}, -1.0, 1.0, dtype_of<T>(), &gen);
  return std::vector<T>(t.data<T>(), t.data<T>() + n);
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
}

bool has_grad(size_t i, int k) {
  return !(i == 2 && k == 1);
}

/// Every element has the same bits in both, except that a NaN matches any
/// NaN. IEEE 754 leaves the sign and payload of a NaN result unspecified,
/// and compilers use that: clang 14 at -O1 turns the reference's
/// `sign * g` (sign = -1 under maximize) into a negation, which flips a NaN
/// gradient's sign bit, where the vector multiply keeps it (7fc00000 vs
/// ffc00000; g++ -O2 and clang -O0 keep it too). That was issue 12's
/// "clang-only last-bit mismatch of the fused Adam step".
template <class T>
bool same_bits_or_nan(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0 &&
        !(std::isnan(a[i]) && std::isnan(b[i])))
      return false;
  return true;
}

/// Runs kSteps of `opt` on fresh parameters and, beside it, `ref_step` on
/// plain vectors; checks parameters (and, through `check_state`, buffers)
/// bit for bit after every step.
template <class T, class Make, class RefStep, class CheckState>
void compare(Make make, RefStep ref_step, CheckState check_state) {
  TensorList params;
  std::vector<std::vector<T>> ref;
  for (size_t i = 0; i < std::size(kSizes); ++i) {
    const auto v = init_values<T>(i, kSizes[i]);
    // Parameter 4 is a non-contiguous view (updated through a copy).
    Tensor p = i == 4 ? tensor(
                            std::vector<double>(v.begin(), v.end()),
                            {1, kSizes[i]}, dtype_of<T>())
                            .expand({2, kSizes[i]})
                            .select(0, 1)
                      : tensor(
                            std::vector<double>(v.begin(), v.end()),
                            {kSizes[i]}, dtype_of<T>());
    if (i == 4)
      p = p.detach();
    p.requires_grad_();
    params.push_back(p);
    ref.push_back(v);
  }
  auto opt = make(params);
  for (int k = 0; k < kSteps; ++k) {
    for (size_t i = 0; i < params.size(); ++i) {
      const auto g = grad_values<T>(i, k, kSizes[i]);
      if (has_grad(i, k)) {
        params[i].set_grad(tensor(
            std::vector<double>(g.begin(), g.end()), params[i].shape(),
            dtype_of<T>()));
        ref_step(i, ref[i], g);
      } else {
        params[i].set_grad(Tensor());
      }
    }
    opt->step();
    for (size_t i = 0; i < params.size(); ++i) {
      CAPTURE(i);
      CAPTURE(k);
      const auto got = values_of<T>(params[i]);
      CHECK(same_bits_or_nan(got, ref[i]));
      check_state(*opt, params[i], i);
    }
  }
}

template <class T>
bool same_bits(const Tensor& t, const std::vector<T>& v) {
  return same_bits_or_nan(values_of<T>(t), v);
}

template <class T>
void check_adam(const AdamOptions& o, bool decoupled) {
  std::map<size_t, RefAdamState<T>> st;
  auto make = [&](const TensorList& p) -> std::unique_ptr<Optimizer> {
    if (decoupled) {
      AdamWOptions w(o.lr());
      w.betas(o.betas()).eps(o.eps()).weight_decay(o.weight_decay());
      w.amsgrad(o.amsgrad()).maximize(o.maximize());
      return std::make_unique<AdamW>(p, w);
    }
    return std::make_unique<Adam>(p, o);
  };
  compare<T>(
      make,
      [&](size_t i, std::vector<T>& p, const std::vector<T>& g) {
        ref_adam<T>(o, decoupled, p, g, st[i]);
      },
      [&](const Optimizer& opt, const Tensor& p, size_t i) {
        const ParamState* s = opt.state(p);
        REQUIRE(s != nullptr);
        CHECK(s->step == st[i].step);
        CHECK(same_bits(s->buffers.at("exp_avg"), st[i].m));
        CHECK(same_bits(s->buffers.at("exp_avg_sq"), st[i].v));
        if (o.amsgrad())
          CHECK(same_bits(s->buffers.at("max_exp_avg_sq"), st[i].vmax));
      });
}

template <class T>
void check_sgd(const SGDOptions& o) {
  std::map<size_t, std::vector<T>> bufs;
  compare<T>(
      [&](const TensorList& p) -> std::unique_ptr<Optimizer> {
        return std::make_unique<SGD>(p, o);
      },
      [&](size_t i, std::vector<T>& p, const std::vector<T>& g) {
        ref_sgd<T>(o, p, g, bufs[i]);
      },
      [&](const Optimizer& opt, const Tensor& p, size_t i) {
        const ParamState* s = opt.state(p);
        REQUIRE(s != nullptr);
        if (o.momentum() != 0)
          CHECK(same_bits(s->buffers.at("momentum_buffer"), bufs[i]));
      });
}

std::vector<kernels::Isa> available_isas() {
  std::vector<kernels::Isa> isas;
  for (kernels::Isa isa :
       {kernels::Isa::Generic, kernels::Isa::Avx2, kernels::Isa::Avx512})
    if (kernels::cpu_supports(isa))
      isas.push_back(isa);
  return isas;
}

/// Runs `f` on every ISA with 1 and 2 threads.
template <class F>
void everywhere(F f) {
  struct Restore {
    ~Restore() {
      kernels::set_isa(kernels::Isa::Auto);
    }
  } restore;
  for (kernels::Isa isa : available_isas()) {
    REQUIRE(kernels::set_isa(isa));
    const std::string isa_s = kernels::isa_name(isa);
    CAPTURE(isa_s);
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      test::with_threads(threads, f);
    }
  }
}

}  // namespace

TEST_CASE_TEMPLATE(
    "fused Adam and AdamW steps give the bits of the element loop",
    T,
    float,
    double) {
  const AdamOptions variants[] = {
      AdamOptions(1e-2),
      AdamOptions(2e-3).betas({0.5, 0.9}).eps(1e-6),
      AdamOptions(1e-2).weight_decay(0.1).amsgrad(true),
      AdamOptions(1e-3).maximize(true).amsgrad(true).weight_decay(0.05),
  };
  for (size_t v = 0; v < std::size(variants); ++v) {
    CAPTURE(v);
    for (bool decoupled : {false, true}) {
      CAPTURE(decoupled);
      everywhere([&] { check_adam<T>(variants[v], decoupled); });
    }
  }
}

TEST_CASE_TEMPLATE(
    "fused SGD steps give the bits of the element loop", T, float, double) {
  const SGDOptions variants[] = {
      SGDOptions(0.1),
      SGDOptions(0.05).weight_decay(0.01).maximize(true),
      SGDOptions(0.1).momentum(0.9),
      SGDOptions(0.1).momentum(0.9).dampening(0.25).weight_decay(1e-3),
      SGDOptions(0.01).momentum(0.8).nesterov(true),
  };
  for (size_t v = 0; v < std::size(variants); ++v) {
    CAPTURE(v);
    everywhere([&] { check_sgd<T>(variants[v]); });
  }
}

TEST_CASE("one fused pass updates a group holding float and double params") {
  Tensor a = tensor({1.0, 2.0, 3.0}, kFloat32);
  Tensor b = tensor({1.0, 2.0, 3.0}, kFloat64);
  a.requires_grad_();
  b.requires_grad_();
  Adam opt({a, b}, AdamOptions(0.1));
  a.set_grad(tensor({1.0, -1.0, 0.5}, kFloat32));
  b.set_grad(tensor({1.0, -1.0, 0.5}, kFloat64));
  opt.step();
  // The first Adam step moves each element by lr against its gradient.
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  const std::vector<double> want{0.9, 2.1, 2.9};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(va[i] == doctest::Approx(want[i]).epsilon(1e-6));
    CHECK(vb[i] == doctest::Approx(want[i]).epsilon(1e-7));
  }
}

}  // namespace voxgrad::optim
