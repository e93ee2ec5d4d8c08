// conv3d_plan on its own: which path each geometry takes, that the plan's
// tasks partition the output, that its blocks fit the instruction set, that
// it never depends on the thread count, how it prints, and that the shared
// shape list reaches every path of every pass on every instruction set.

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/conv_shapes.hpp"
#include "tests/test_util.hpp"
#include "voxgrad/core/kernels/conv3d_engine/blocking.hpp"
#include "voxgrad/core/kernels/conv3d_internal.hpp"
#include "voxgrad/core/kernels/conv3d_plan.hpp"

namespace {

namespace vk = voxgrad::kernels;
namespace vt = voxgrad::test;
using vk::ConvGeometry3d;
using vk::ConvPlan;
using vk::Isa;
using vk::Pass;

const Pass kPasses[] = {Pass::Fwd, Pass::BwdData, Pass::BwdWeight};
const voxgrad::Dtype kDtypes[] = {voxgrad::kFloat32, voxgrad::kFloat64};

// The instruction sets this CPU runs (plans can be made for any of them;
// these are the ones whose executors the tests can also run).
std::vector<Isa> cpu_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (vk::conv3d_cpu_supports(isa))
      out.push_back(isa);
  return out;
}

int64_t vector_bytes(Isa isa) {
  return isa == Isa::Avx512 ? vk::detail::kIsaAvx512.vector_bytes
         : isa == Isa::Avx2 ? vk::detail::kIsaAvx2.vector_bytes
                            : vk::detail::kIsaGeneric.vector_bytes;
}

// Every path a pass can take on an ISA and element type.
std::set<std::string> possible_paths(Pass pass, Isa isa, voxgrad::Dtype dt) {
  if (pass == Pass::Fwd)
    return {"gather/direct/halo", "gather/direct/shifted", "gemm/im2col"};
  if (pass == Pass::BwdData)
    return {
        "gather/direct/halo", "gather/direct/shifted", "gather/tile/halo",
        "gather/tile/shifted", "gemm/im2col"};
  std::set<std::string> s = {
      "wgrad/lanes/halo", "wgrad/lanes/shifted", "gemm/im2col"};
  if (vector_bytes(isa) == 64 && dt == voxgrad::kFloat32) {
    s.insert("wgrad/channels/halo");
    s.insert("wgrad/channels/shifted");
  }
  return s;
}

}  // namespace

TEST_CASE("conv3d_plan: the path follows the pass, strides, channels, ISA") {
  const vk::Int3 one{1, 1, 1}, k3{3, 3, 3}, k4{4, 4, 4}, s2{2, 2, 2};
  struct Case {
    ConvGeometry3d g;
    Pass pass;
    Isa isa;
    voxgrad::Dtype dt;
    const char* path;
  };
  const auto f32 = voxgrad::kFloat32, f64 = voxgrad::kFloat64;
  // Output width 32: whole vectors at 4, 8 and 16 lanes (halo); 31: not.
  const ConvGeometry3d conv32 =
      vt::conv_geometry(2, 8, 16, {6, 6, 32}, k3, one, one);
  const ConvGeometry3d conv31 =
      vt::conv_geometry(2, 8, 16, {6, 6, 31}, k3, one, one);
  // ConvTranspose3d(64 -> 32, k 4, s 2, p 1) on 16^3 (conv direction):
  // output phases and dy rows 16 wide.
  const ConvGeometry3d up =
      vt::transposed_geometry(1, 64, 32, {16, 16, 16}, k4, s2, one);
  // Depth stride only: two depth phases, each whole planes (direct).
  const ConvGeometry3d depth_only =
      vt::conv_geometry(1, 4, 4, {9, 8, 8}, k3, {2, 1, 1}, one);
  const ConvGeometry3d small_out =
      vt::conv_geometry(16, 32, 64, {4, 4, 4}, k4, s2, one);
  const Case cases[] = {
      {conv32, Pass::Fwd, Isa::Generic, f32, "gather/direct/halo"},
      {conv31, Pass::Fwd, Isa::Avx512, f32, "gather/direct/shifted"},
      {conv32, Pass::BwdData, Isa::Avx2, f32, "gather/direct/halo"},
      {depth_only, Pass::BwdData, Isa::Avx512, f32, "gather/direct/shifted"},
      {up, Pass::BwdData, Isa::Avx512, f32, "gather/tile/halo"},
      {up, Pass::BwdData, Isa::Generic, f64, "gather/tile/halo"},
      {vt::transposed_geometry(1, 64, 32, {8, 8, 8}, k4, s2, one),
       Pass::BwdData, Isa::Avx512, f32, "gather/tile/shifted"},
      // C_out/G = 64 >= 32 in the conv direction: channels on AVX-512 f32.
      {up, Pass::BwdWeight, Isa::Avx512, f32, "wgrad/channels/halo"},
      {up, Pass::BwdWeight, Isa::Avx512, f64, "wgrad/lanes/halo"},
      {up, Pass::BwdWeight, Isa::Avx2, f32, "wgrad/lanes/halo"},
      {conv31, Pass::BwdWeight, Isa::Avx512, f32, "wgrad/lanes/shifted"},
      // At most 32 output positions, K = C_in * 64 >= 256, C_out >= 16: one
      // GEMM for every pass, ISA and element type (critic's 4^3 -> 2^3).
      {small_out, Pass::Fwd, Isa::Avx512, f32, "gemm/im2col"},
      {small_out, Pass::BwdData, Isa::Generic, f64, "gemm/im2col"},
      {small_out, Pass::BwdWeight, Isa::Avx2, f32, "gemm/im2col"},
      {vt::conv_geometry(16, 16, 32, {6, 6, 6}, k4, s2, one), Pass::Fwd,
       Isa::Avx512, f32, "gemm/im2col"},
  };
  for (const Case& c : cases) {
    const ConvPlan p = vk::conv3d_plan(c.g, c.pass, c.isa, c.dt);
    INFO(
        c.g.str(), " ", std::string(vk::pass_name(c.pass)), " ",
        std::string(vk::isa_name(c.isa)), ": ", p.str());
    CHECK(p.path_str() == c.path);
  }
  // Not im2col + GEMM: 33 or 64 positions; 15 output channels;
  // K = 4 * 27 < 256; two conv groups; an im2col matrix over 32 MiB.
  const ConvGeometry3d not_im2col[] = {
      vt::conv_geometry(1, 32, 32, {3, 11, 1}, {1, 1, 1}),
      vt::conv_geometry(16, 16, 32, {8, 8, 8}, k4, s2, one),
      vt::conv_geometry(16, 32, 15, {4, 4, 4}, k4, s2, one),
      vt::conv_geometry(2, 4, 32, {3, 3, 3}, k3, one, one),
      vt::conv_geometry(16, 32, 64, {4, 4, 4}, k4, s2, one, one, 2),
      vt::conv_geometry(2048, 32, 64, {4, 4, 4}, k4, s2, one)};
  for (const ConvGeometry3d& g : not_im2col)
    for (Pass pass : kPasses) {
      INFO(g.str(), " ", std::string(vk::pass_name(pass)));
      CHECK(vk::conv3d_plan(g, pass).path != vk::Path::Im2colGemm);
    }
  // Two depth phases share no window; 8 sub-pixel phases in 2 windows.
  CHECK(vk::conv3d_plan(depth_only, Pass::BwdData).gather.n_windows == 2);
  const ConvPlan pu = vk::conv3d_plan(up, Pass::BwdData);
  CHECK(pu.gather.n_phases == 8);
  CHECK(pu.gather.n_windows == 2);
}

TEST_CASE("conv3d_plan prints one line naming the ISA, path and blocking") {
  const ConvGeometry3d g = vt::transposed_geometry(
      8, 128, 64, {8, 8, 8}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1});
  const ConvPlan p =
      vk::conv3d_plan(g, Pass::BwdData, Isa::Avx2, voxgrad::kFloat32);
  const std::string s = p.str();
  INFO(s);
  if (vk::detail::kIsaAvx2.vector_bytes == 32) {
    CHECK(s.rfind("avx2 float32 gather/tile/halo L=8 MR=", 0) == 0);
    CHECK(p.lanes == 8);
  }
  CHECK(s.find(" chunk=") != std::string::npos);
  CHECK(s.find(" tasks=") != std::string::npos);
  CHECK(s.find("/thread") != std::string::npos);
  CHECK(s.find('\n') == std::string::npos);
  const ConvPlan w =
      vk::conv3d_plan(g, Pass::BwdWeight, Isa::Generic, voxgrad::kFloat64);
  CHECK(w.str().find(" parts=") != std::string::npos);
  CHECK(w.str().find(" batch=") != std::string::npos);
  // im2col + GEMM: the matrix's rows and K, and the GEMM's other side.
  const ConvPlan m = vk::conv3d_plan(
      vt::conv_geometry(16, 32, 64, {4, 4, 4}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}),
      Pass::Fwd, Isa::Avx512, voxgrad::kFloat32);
  CHECK(m.path_str() == "gemm/im2col");
  CHECK(
      m.str().find("gemm/im2col L=16 rows=128 K=2048 cols=64 tasks=0 ws=") !=
      std::string::npos);
}

TEST_CASE("conv3d_plan does not depend on the thread count") {
  for (const vt::ConvCase& c : vt::conv_shapes()) {
    for (Pass pass : kPasses) {
      const ConvPlan a = vt::with_threads(
          1, [&] { return vk::conv3d_plan(c.g, pass, Isa::Avx512); });
      const ConvPlan b = vt::with_threads(
          8, [&] { return vk::conv3d_plan(c.g, pass, Isa::Avx512); });
      INFO(c.name, " ", std::string(vk::pass_name(pass)));
      CHECK(a.str() == b.str());
      REQUIRE(a.n_tasks == b.n_tasks);
      for (int64_t i = 0; i < a.n_tasks; ++i) {
        if (pass == Pass::BwdWeight) {
          const auto &x = a.wgrad.tasks[i], &y = b.wgrad.tasks[i];
          CHECK(
              (x.grp == y.grp && x.c0 == y.c0 && x.cc == y.cc && x.m0 == y.m0 &&
               x.m1 == y.m1 && x.r == y.r));
        } else {
          const auto &x = a.gather.tasks[i], &y = b.gather.tasks[i];
          CHECK(
              (x.ng == y.ng && x.window == y.window && x.jd0 == y.jd0 &&
               x.jd1 == y.jd1 && x.m0 == y.m0 && x.m1 == y.m1));
        }
      }
    }
  }
}

// Each output element is computed by exactly one task (the determinism
// rule), and the blocks fit the ISA's register file, on every ISA and
// element type, for the whole shape list.
TEST_CASE("conv3d_plan's tasks partition the output, blocks fit the ISA") {
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    for (voxgrad::Dtype dt : kDtypes)
      for (const vt::ConvCase& c : vt::conv_shapes())
        for (Pass pass : kPasses) {
          const ConvGeometry3d& g = c.g;
          const ConvPlan p = vk::conv3d_plan(g, pass, isa, dt);
          INFO(c.name, " ", std::string(vk::pass_name(pass)), ": ", p.str());
          REQUIRE(
              p.lanes * static_cast<int64_t>(voxgrad::itemsize(dt)) ==
              vector_bytes(isa));
          if (p.path == vk::Path::Im2colGemm) {
            // No tasks of its own (the GEMM splits its output); the
            // workspace holds the im2col matrix.
            const int64_t P = g.out_numel(), K = g.C_in * g.kernel_numel();
            CHECK(g.groups == 1);
            CHECK(P <= 32);
            CHECK(p.im2col_k == K);
            CHECK(
                p.task_bytes >=
                g.N * P * K * static_cast<int64_t>(voxgrad::itemsize(dt)));
            continue;
          }
          const auto bl = vk::detail::blocking_for(vector_bytes(isa));
          if (pass == Pass::BwdWeight) {
            const auto& wp = p.wgrad;
            const int64_t C = g.C_in_g(), M = g.C_out_g(), R = wp.parts;
            std::vector<int> seen(static_cast<size_t>(g.groups * C * M * R), 0);
            for (int64_t i = 0; i < wp.n_tasks; ++i) {
              const auto& t = wp.tasks[i];
              REQUIRE(t.cc <= wp.chunk);
              REQUIRE(t.m1 - t.m0 <= wp.rows);
              for (int64_t ci = t.c0; ci < t.c0 + t.cc; ++ci)
                for (int64_t m = t.m0; m < t.m1; ++m)
                  ++seen[static_cast<size_t>(
                      ((t.grp * C + ci) * M + m) * R + t.r)];
            }
            for (int v : seen)
              REQUIRE(v == (g.N > 0 ? 1 : 0));
            CHECK(wp.batch >= 1);
            CHECK(wp.batch <= vk::detail::kMaxBatch);
            if (p.path == vk::Path::WgradLanes) {
              CHECK(wp.WMR == bl.wmr);
              CHECK(wp.WNC == bl.wnc);
              CHECK(wp.n_full * p.lanes + wp.rem == wp.phase.n_pos);
            }
          } else {
            const auto& gp = p.gather;
            CHECK(gp.MR >= 1);
            CHECK(gp.MR <= bl.mr_max);
            CHECK(gp.NV == bl.nv_max(gp.MR));
            CHECK(gp.chunk * gp.n_chunks >= gp.C_src);
            CHECK((gp.n_chunks - 1) * gp.chunk < gp.C_src);
            // (ng, window, plane, row) -> times covered.
            int64_t max_d = 1, planes = 0;
            for (int64_t wi = 0; wi < gp.n_windows; ++wi) {
              const int64_t nd = gp.phases[gp.windows[wi].phase0].n_d;
              max_d = std::max(max_d, nd);
              planes += nd;
            }
            std::vector<int> seen(
                static_cast<size_t>(
                    g.N * g.groups * gp.n_windows * max_d * gp.M),
                0);
            int64_t covered = 0;
            for (int64_t i = 0; i < gp.n_tasks; ++i) {
              const auto& t = gp.tasks[i];
              for (int64_t jd = t.jd0; jd < t.jd1; ++jd)
                for (int64_t m = t.m0; m < t.m1; ++m) {
                  int& v = seen[static_cast<size_t>(
                      ((t.ng * gp.n_windows + t.window) * max_d + jd) * gp.M +
                      m)];
                  REQUIRE(v == 0);
                  v = 1;
                  ++covered;
                }
            }
            CHECK(covered == g.N * g.groups * planes * gp.M);
            // The phases cover the destination positions exactly: per axis
            // every position has one residue.
            int64_t positions = 0;
            for (int64_t ph = 0; ph < gp.n_phases; ++ph)
              positions += gp.phases[ph].n_d * gp.phases[ph].n_pos;
            CHECK(
                positions == gp.dst_dims[0] * gp.dst_dims[1] * gp.dst_dims[2]);
          }
        }
}

// The shared shape list must reach every path of every pass on every
// instruction set this CPU runs (so the reference, adjointness and
// determinism tests, which use it, test every executor), plus the branches
// inside them: several channel chunks and a split reduction.
TEST_CASE("the shared shape list exercises every path of every pass") {
  for (Isa isa : cpu_isas())
    for (voxgrad::Dtype dt : kDtypes)
      for (Pass pass : kPasses) {
        std::set<std::string> got;
        bool chunks = false, parts = false;
        for (const vt::ConvCase& c : vt::conv_shapes()) {
          if (c.large && dt == voxgrad::kFloat64)
            continue;  // the tests run the large shapes in float only
          const ConvPlan p = vk::conv3d_plan(c.g, pass, isa, dt);
          got.insert(p.path_str());
          chunks = chunks || (pass != Pass::BwdWeight && p.gather.n_chunks > 1);
          parts = parts || (pass == Pass::BwdWeight && p.wgrad.parts > 1);
        }
        INFO(
            std::string(vk::isa_name(isa)), " ", voxgrad::dtype_name(dt), " ",
            std::string(vk::pass_name(pass)));
        for (const std::string& path : possible_paths(pass, isa, dt)) {
          INFO("path ", path);
          CHECK(got.count(path) == 1);
        }
        for (const std::string& path : got) {
          INFO("unexpected path ", path);
          CHECK(possible_paths(pass, isa, dt).count(path) == 1);
        }
        if (pass == Pass::BwdWeight)
          CHECK(parts);
        else
          CHECK(chunks);
      }
}
