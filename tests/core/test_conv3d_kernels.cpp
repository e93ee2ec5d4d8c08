// The conv3d kernels against the naive reference, against each other
// (adjointness), against themselves (thread count), and the geometry checks.

#include <doctest/doctest.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/conv_shapes.hpp"
#include "tests/core/conv3d_reference.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"
#include "voxgrad/core/kernels/conv3d_plan.hpp"
#include "voxgrad/core/parallel.hpp"

namespace {

namespace vk = voxgrad::kernels;
namespace vt = voxgrad::test;
using vk::ConvGeometry3d;
using vk::Isa;

template <class T>
std::vector<T> random_values(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& e : v)
    e = static_cast<T>(dist(rng));
  return v;
}

template <class T>
std::vector<T> poisoned(int64_t n) {
  return std::vector<T>(
      static_cast<size_t>(n), std::numeric_limits<T>::quiet_NaN());
}

std::vector<vt::ConvCase> small_cases() {
  std::vector<vt::ConvCase> out;
  for (auto& c : vt::conv_shapes())
    if (!c.large)
      out.push_back(c);
  return out;
}

// Every instruction set this CPU runs; each must match the reference.
std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (vk::set_conv3d_isa(isa))
      isas.push_back(isa);
  vk::set_conv3d_isa(Isa::Auto);
  return isas;
}

struct IsaGuard {
  ~IsaGuard() {
    vk::set_conv3d_isa(Isa::Auto);
  }
};

struct ThreadGuard {
  int saved = voxgrad::num_threads();
  ~ThreadGuard() {
    voxgrad::set_num_threads(saved);
  }
};

template <class T>
void check_matches(
    const char* what,
    const std::vector<T>& got,
    const vt::RefResult<T>& want,
    int64_t terms) {
  REQUIRE(got.size() == want.val.size());
  const int64_t i = vt::first_mismatch(got.data(), want, terms);
  if (i >= 0) {
    const auto u = static_cast<size_t>(i);
    FAIL_CHECK(
        std::string(what), " differs from the reference at flat index ", i,
        ": got ", got[u], ", want ", static_cast<double>(want.val[u]),
        " (sum |terms| ", static_cast<double>(want.abs[u]), ")");
  }
}

}  // namespace

TEST_CASE_TEMPLATE(
    "conv3d kernels match the naive reference", T, float, double) {
  IsaGuard isa_guard;
  const std::vector<Isa> isas = available_isas();
  for (const vt::ConvCase& c : small_cases()) {
    SUBCASE(c.name.c_str()) {
      const ConvGeometry3d& g = c.g;
      const auto x = random_values<T>(g.x_numel(), 1);
      const auto w = random_values<T>(g.w_numel(), 2);
      const auto dy = random_values<T>(g.y_numel(), 3);
      const auto want_y = vt::ref_conv3d_fwd(g, x.data(), w.data());
      const auto want_dx = vt::ref_conv3d_bwd_data(g, dy.data(), w.data());
      const auto want_dw = vt::ref_conv3d_bwd_weight(g, x.data(), dy.data());
      const int64_t kvol = g.kernel_numel();
      for (Isa isa : isas) {
        REQUIRE(vk::set_conv3d_isa(isa));
        INFO("isa ", vk::conv3d_isa());
        auto y = poisoned<T>(g.y_numel());
        auto dx = poisoned<T>(g.x_numel());
        auto dw = poisoned<T>(g.w_numel());
        vk::conv3d_fwd(g, x.data(), w.data(), y.data());
        vk::conv3d_bwd_data(g, dy.data(), w.data(), dx.data());
        vk::conv3d_bwd_weight(g, x.data(), dy.data(), dw.data());
        check_matches("conv3d_fwd", y, want_y, g.C_in_g() * kvol);
        check_matches("conv3d_bwd_data", dx, want_dx, g.C_out_g() * kvol);
        check_matches("conv3d_bwd_weight", dw, want_dw, g.N * g.out_numel());
      }
    }
  }
}

TEST_CASE("conv3d kernels are mutually adjoint (double)") {
  for (const vt::ConvCase& c : small_cases()) {
    if (c.g.N == 0)
      continue;
    SUBCASE(c.name.c_str()) {
      const ConvGeometry3d& g = c.g;
      const auto x = random_values<double>(g.x_numel(), 11);
      const auto w = random_values<double>(g.w_numel(), 12);
      const auto dy = random_values<double>(g.y_numel(), 13);
      std::vector<double> y(dy.size()), dx(x.size()), dw(w.size());
      vk::conv3d_fwd(g, x.data(), w.data(), y.data());
      vk::conv3d_bwd_data(g, dy.data(), w.data(), dx.data());
      vk::conv3d_bwd_weight(g, x.data(), dy.data(), dw.data());
      // <A x, dy> = <x, Aᵀ dy> = <w, ∂<A x, dy>/∂w> (it is linear in w).
      double y_dy = 0, x_dx = 0, w_dw = 0, scale = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        y_dy += y[i] * dy[i];
        scale += std::abs(y[i] * dy[i]);
      }
      for (size_t i = 0; i < x.size(); ++i) {
        x_dx += x[i] * dx[i];
        scale += std::abs(x[i] * dx[i]);
      }
      for (size_t i = 0; i < w.size(); ++i)
        w_dw += w[i] * dw[i];
      INFO("<Ax,dy> = ", y_dy, ", <x,A'dy> = ", x_dx, ", <w,dw> = ", w_dw);
      CHECK(std::abs(y_dy - x_dx) <= 1e-12 * scale);
      CHECK(std::abs(y_dy - w_dw) <= 1e-12 * scale);
    }
  }
}

// Determinism (issue 10, class 4): every kernel must give the same bits for
// any thread count. A tbb::task_arena of t slots (with the global limit
// raised to t) runs the kernels with t threads even on a 2-core machine, so
// num_threads() and the work split both see t. The geometries cover every
// engine path of both ops (conv and transposed conv): gather direct / tile
// with halo and shifted layouts, several channel chunks, both weight-gradient
// executors with both layouts and with the reduction split into partial
// sums, and im2col + GEMM; each on every instruction set this CPU runs.
namespace {
std::vector<ConvGeometry3d> determinism_shapes() {
  const vk::Int3 one{1, 1, 1}, k3{3, 3, 3}, k4{4, 4, 4}, s2{2, 2, 2};
  return {
      // Issue 10's example: ConvTranspose3d(8 -> 4, k 4, s 2, p 1) on
      // (4, 8, 10, 10, 10); its weight gradient differed at 1 vs 2 threads.
      vt::transposed_geometry(4, 8, 4, {10, 10, 10}, k4, s2, one),
      // Strided, grouped conv; odd widths (expanded rows).
      vt::conv_geometry(3, 8, 12, {9, 10, 11}, k3, {2, 1, 2}, one, one, 2),
      // Transposed conv with output_padding and groups (tile mode).
      vt::transposed_geometry(2, 8, 12, {5, 6, 7}, k3, s2, one, one, one, 4),
      // Phases narrower than a vector even at 4 lanes (shifted tile).
      vt::transposed_geometry(2, 6, 4, {5, 4, 3}, k3, s2, one),
      // Rows of whole vectors (halo layout), direct and tile mode.
      vt::conv_geometry(2, 6, 5, {6, 6, 32}, k3, one, one),
      vt::transposed_geometry(2, 5, 6, {4, 5, 16}, k4, s2, one),
      // Many source channels: several channel chunks accumulate.
      vt::conv_geometry(1, 96, 8, {12, 12, 12}, k3, one, one),
      vt::transposed_geometry(1, 96, 8, {6, 6, 6}, k3, s2, one),
      // C_out/g >= 32: the channel-vectorised weight gradient (AVX-512).
      vt::conv_geometry(2, 8, 48, {10, 10, 10}, k3, one, one),
      vt::transposed_geometry(2, 40, 6, {6, 6, 16}, k3, s2, one),
      // Few weights, long reduction: split into ordered partial sums.
      vt::conv_geometry(2, 1, 4, {24, 24, 24}, k3, one, one),
      vt::conv_geometry(2, 1, 4, {24, 24, 32}, k3, one, one),
      // Few output positions, many channels: im2col + GEMM, both ops.
      vt::conv_geometry(3, 32, 24, {4, 4, 4}, k4, s2, one),
      vt::transposed_geometry(2, 24, 20, {2, 3, 2}, k4, s2, one),
      // Depthwise and dilated.
      vt::conv_geometry(1, 4, 4, {20, 20, 20}, k3, one, one, one, 4),
      vt::conv_geometry(1, 6, 5, {13, 12, 11}, k3, one, s2, s2),
  };
}
}  // namespace

// The determinism geometries reach every path the shared shape list
// reaches (test_conv3d_plan.cpp checks that is every path), on every ISA.
TEST_CASE("the determinism geometries reach every engine path") {
  for (Isa isa : available_isas())
    for (vk::Pass pass :
         {vk::Pass::Fwd, vk::Pass::BwdData, vk::Pass::BwdWeight}) {
      std::set<std::string> want, got;
      for (const vt::ConvCase& c : vt::conv_shapes())
        want.insert(vk::conv3d_plan(c.g, pass, isa).path_str());
      for (const ConvGeometry3d& g : determinism_shapes())
        got.insert(vk::conv3d_plan(g, pass, isa).path_str());
      INFO(
          std::string(vk::isa_name(isa)), " ",
          std::string(vk::pass_name(pass)));
      for (const std::string& p : want) {
        INFO("path ", p);
        CHECK(got.count(p) == 1);
      }
    }
}

TEST_CASE("conv3d kernels are bit-identical for 1, 2, 3, 4 and 8 threads") {
  IsaGuard isa_guard;
  ThreadGuard thread_guard;
  const std::vector<ConvGeometry3d> shapes = determinism_shapes();
  const std::vector<Isa> isas = available_isas();
  const int threads[] = {1, 2, 3, 4, 8};
  for (const ConvGeometry3d& g : shapes) {
    SUBCASE(g.str().c_str()) {
      const auto x = random_values<float>(g.x_numel(), 21);
      const auto w = random_values<float>(g.w_numel(), 22);
      const auto dy = random_values<float>(g.y_numel(), 23);
      const auto b_out = random_values<float>(g.C_out, 24);
      const auto b_in = random_values<float>(g.C_in, 25);
      for (Isa isa : isas) {
        REQUIRE(vk::set_conv3d_isa(isa));
        std::vector<float> y[5], dx[5], dw[5];
        for (int i = 0; i < 5; ++i) {
          const int t = threads[i];
          voxgrad::set_num_threads(t);
          tbb::task_arena arena(t);
          y[i] = poisoned<float>(g.y_numel());
          dx[i] = poisoned<float>(g.x_numel());
          dw[i] = poisoned<float>(g.w_numel());
          arena.execute([&] {
            vk::conv3d_fwd(g, x.data(), w.data(), y[i].data(), b_out.data());
            vk::conv3d_bwd_data(
                g, dy.data(), w.data(), dx[i].data(), b_in.data());
            vk::conv3d_bwd_weight(g, x.data(), dy.data(), dw[i].data());
          });
        }
        const auto same = [](const std::vector<float>& a,
                             const std::vector<float>& b) {
          return a.size() == b.size() &&
                 std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
        };
        for (int i = 1; i < 5; ++i) {
          INFO(
              "isa ", std::string(vk::conv3d_isa()), ", 1 vs ", threads[i],
              " threads");
          CHECK(same(y[0], y[i]));
          CHECK(same(dx[0], dx[i]));
          CHECK(same(dw[0], dw[i]));
        }
      }
    }
  }
}

// The SPEC benchmark shapes at N = 1, spot-checked element by element (the
// full reference would take minutes): multi-tile, long reductions, real
// channel counts, on the instruction set the machine would pick.
TEST_CASE("conv3d kernels on the SPEC benchmark shapes (N = 1, spot checks)") {
  for (const vt::ConvCase& c : vt::conv_shapes()) {
    if (!c.large)
      continue;
    SUBCASE(c.name.c_str()) {
      ConvGeometry3d g = c.g;
      g.N = 1;
      const auto x = random_values<float>(g.x_numel(), 31);
      const auto w = random_values<float>(g.w_numel(), 32);
      const auto dy = random_values<float>(g.y_numel(), 33);
      std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
      vk::conv3d_fwd(g, x.data(), w.data(), y.data());
      vk::conv3d_bwd_data(g, dy.data(), w.data(), dx.data());
      vk::conv3d_bwd_weight(g, x.data(), dy.data(), dw.data());
      std::mt19937_64 rng(34);
      const int64_t kvol = g.kernel_numel();
      const struct {
        char which;
        const std::vector<float>& got;
        const float *a, *b;
        int64_t terms;
      } outs[3] = {
          {'y', y, x.data(), w.data(), g.C_in_g() * kvol},
          {'x', dx, dy.data(), w.data(), g.C_out_g() * kvol},
          {'w', dw, x.data(), dy.data(), g.out_numel()},
      };
      for (const auto& o : outs) {
        const auto n = static_cast<int64_t>(o.got.size());
        for (int s = 0; s < 24; ++s) {
          // The first and last elements, then random ones.
          const int64_t i =
              s == 0   ? 0
              : s == 1 ? n - 1
                       : static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
          // Named members, not a structured binding: clang 14 cannot use
          // bindings inside INFO's lambda.
          const auto ref = vt::ref_element(g, o.which, o.a, o.b, i);
          const auto val = ref.first;
          const auto abs = ref.second;
          const double err = std::abs(o.got[static_cast<size_t>(i)] - val);
          INFO(
              o.which, "[", i, "] got ", o.got[static_cast<size_t>(i)],
              ", want ", static_cast<double>(val));
          CHECK(
              err <= 4.0 * static_cast<double>(o.terms + 1) * 1.2e-7 *
                             static_cast<double>(abs) +
                         1e-30);
        }
      }
    }
  }
}

// Outputs of >= 32 MiB are written with non-temporal stores; direct-mode
// planes (fwd, and bwd_data of a stride-1 conv) with a bias, spot-checked.
TEST_CASE("conv3d kernels with streamed outputs (spot checks, with bias)") {
  const vk::Int3 one{1, 1, 1}, k3{3, 3, 3};
  const ConvGeometry3d fwd =
      vt::conv_geometry(1, 1, 32, {64, 64, 64}, k3, one, one);
  const ConvGeometry3d bwd =
      vt::conv_geometry(1, 32, 1, {64, 64, 64}, k3, one, one);
  std::mt19937_64 rng(41);
  for (int pass = 0; pass < 2; ++pass) {
    const ConvGeometry3d& g = pass == 0 ? fwd : bwd;
    INFO("pass ", pass == 0 ? "fwd" : "bwd_data", ", geometry ", g.str());
    const auto a =
        random_values<float>(pass == 0 ? g.x_numel() : g.y_numel(), 42);
    const auto w = random_values<float>(g.w_numel(), 43);
    const auto b = random_values<float>(pass == 0 ? g.C_out : g.C_in, 44);
    std::vector<float> out(
        static_cast<size_t>(pass == 0 ? g.y_numel() : g.x_numel()));
    REQUIRE(out.size() * sizeof(float) >= (size_t{32} << 20));
    if (pass == 0)
      vk::conv3d_fwd(g, a.data(), w.data(), out.data(), b.data());
    else
      vk::conv3d_bwd_data(g, a.data(), w.data(), out.data(), b.data());
    const auto n = static_cast<int64_t>(out.size());
    const int64_t per_c = pass == 0 ? g.out_numel() : g.in_numel();
    const int64_t terms = (pass == 0 ? g.C_in_g() : g.C_out_g()) * 27 + 1;
    for (int s = 0; s < 32; ++s) {
      const int64_t i =
          s == 0   ? 0
          : s == 1 ? n - 1
                   : static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
      const auto [val, abs] =
          vt::ref_element(g, pass == 0 ? 'y' : 'x', a.data(), w.data(), i);
      const double want =
          static_cast<double>(val) + b[static_cast<size_t>(i / per_c)];
      const double got = out[static_cast<size_t>(i)];
      INFO("[", i, "] got ", got, ", want ", want);
      CHECK(
          std::abs(got - want) <=
          4.0 * static_cast<double>(terms) * 1.2e-7 *
                  (static_cast<double>(abs) + std::abs(want)) +
              1e-30);
    }
  }
}

TEST_CASE("ConvGeometry3d::validate names the bad field and value") {
  const ConvGeometry3d good =
      vt::conv_geometry(2, 4, 6, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1});
  CHECK_NOTHROW(good.validate("conv3d"));
  struct Bad {
    const char* what;
    void (*mutate)(ConvGeometry3d&);
    std::vector<std::string> expect;  // substrings of the message
  };
  const std::vector<Bad> bad = {
      {"N", [](ConvGeometry3d& g) { g.N = -1; }, {"N (batch size)", "got -1"}},
      {"C_in", [](ConvGeometry3d& g) { g.C_in = 0; }, {"C_in", "got 0"}},
      {"C_out", [](ConvGeometry3d& g) { g.C_out = -2; }, {"C_out", "got -2"}},
      {"groups", [](ConvGeometry3d& g) { g.groups = 0; }, {"groups", "got 0"}},
      {"groups | C_in",
       [](ConvGeometry3d& g) { g.groups = 3, g.C_out = 6; },
       {"groups (3)", "divide C_in", "C_in = 4"}},
      {"groups | C_out",
       [](ConvGeometry3d& g) { g.groups = 4, g.C_in = 8; },
       {"groups (4)", "divide C_out", "C_out = 6"}},
      {"in",
       [](ConvGeometry3d& g) { g.in[1] = 0; },
       {"in[1] (height)", "got 0"}},
      {"out",
       [](ConvGeometry3d& g) { g.out[2] = 0; },
       {"out[2] (width)", "got 0"}},
      {"kernel",
       [](ConvGeometry3d& g) { g.kernel[0] = 0; },
       {"kernel[0] (depth)", "got 0"}},
      {"stride",
       [](ConvGeometry3d& g) { g.stride[1] = 0; },
       {"stride[1] (height)", "got 0"}},
      {"padding",
       [](ConvGeometry3d& g) { g.padding[2] = -1; },
       {"padding[2] (width)", "got -1"}},
      {"dilation",
       [](ConvGeometry3d& g) { g.dilation[0] = 0; },
       {"dilation[0] (depth)", "got 0"}},
      {"in too short",
       [](ConvGeometry3d& g) { g.in[0] = 4; },
       {"in[0] (depth) = 4", "out[0] = 3", "got -1"}},
      {"in too long",
       [](ConvGeometry3d& g) { g.in[2] = 7; },
       {"in[2] (width) = 7", "[0, 2)", "got 2"}},
      {"extra >= max(stride, dilation)",
       [](ConvGeometry3d& g) {
         g.stride = {1, 1, 1};
         g.dilation = {2, 2, 2};
         g.padding = {0, 0, 0};
         g.out = {1, 1, 1};
         g.in = {7, 6, 6};
       },
       {"in[0] (depth) = 7", "[0, 2)", "got 2"}},
  };
  for (const Bad& b : bad) {
    ConvGeometry3d g = good;
    b.mutate(g);
    INFO("mutation: ", b.what, ", geometry ", g.str());
    std::string msg;
    try {
      g.validate("conv3d_bwd_data");
    } catch (const voxgrad::Error& e) {
      msg = e.what();
    }
    REQUIRE_FALSE(msg.empty());
    INFO("message: ", msg);
    CHECK(msg.rfind("conv3d_bwd_data: ", 0) == 0);
    for (const std::string& part : b.expect)
      CHECK(msg.find(part) != std::string::npos);
  }
  // The kernels validate before touching memory.
  ConvGeometry3d g = good;
  g.kernel[1] = 0;
  CHECK_THROWS_AS(
      vk::conv3d_fwd<float>(g, nullptr, nullptr, nullptr), voxgrad::Error);
}

TEST_CASE("conv3d kernels with an empty batch (N = 0)") {
  const ConvGeometry3d g = vt::conv_geometry(
      0, 4, 6, {5, 5, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, 2);
  CHECK_NOTHROW(vk::conv3d_fwd<float>(g, nullptr, nullptr, nullptr));
  CHECK_NOTHROW(vk::conv3d_bwd_data<double>(g, nullptr, nullptr, nullptr));
  auto dw = poisoned<float>(g.w_numel());
  vk::conv3d_bwd_weight<float>(g, nullptr, nullptr, dw.data());
  for (float v : dw)
    REQUIRE(v == 0.0f);
}

TEST_CASE("conv_shapes lists the SPEC benchmark shapes as valid geometries") {
  int n_bench = 0;
  for (const vt::ConvCase& c : vt::conv_shapes()) {
    INFO(c.name);
    CHECK_NOTHROW(c.g.validate("conv3d"));
    n_bench += c.large ? 1 : 0;
  }
  CHECK(n_bench == 9);
  // SPEC §1's seed example: ConvTranspose3d(3, 64, 3).stride(2).padding(1)
  // on (16, 3, 32, 32, 32) gives (16, 64, 63, 63, 63).
  const ConvGeometry3d first = vt::conv_shapes()[0].g;
  for (const vt::ConvCase& c : vt::conv_shapes()) {
    if (c.bench != "seed")
      continue;
    CHECK(c.g.in == vk::Int3{63, 63, 63});
    CHECK(c.g.C_in == 64);
    CHECK(c.g.out == vk::Int3{32, 32, 32});
    CHECK(c.g.C_out == 3);
  }
  CHECK(first.str() == "mb2ic4id5ih5iw5oc6kd3kh3kw3sd2pd1");
}
