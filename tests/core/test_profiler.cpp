// voxgrad::profiler: nesting (self vs total time), calls, inclusive bytes,
// phases and modules, the kernels' own events, the Chrome trace, and
// silence outside a session.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "tests/conv_shapes.hpp"
#include "voxgrad/core/kernels/conv3d.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad {
namespace {

namespace prof = profiler;

void busy_ms(double ms) {
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::duration<double, std::milli>(ms);
  while (std::chrono::steady_clock::now() < end) {
  }
}

const prof::Row* find_row(
    const std::vector<prof::Row>& rows, const std::string& name) {
  for (const prof::Row& r : rows)
    if (r.name == name)
      return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("profiler nests events: self time excludes the events inside") {
  prof::Session session;
  for (int i = 0; i < 3; ++i) {
    prof::Scope outer("outer", prof::Kind::User);
    busy_ms(2);
    prof::Scope inner("inner", prof::Kind::Op, 1000);
    busy_ms(4);
  }
  const auto rows = prof::key_averages();
  const prof::Row* outer = find_row(rows, "outer");
  const prof::Row* inner = find_row(rows, "inner");
  REQUIRE(outer != nullptr);
  REQUIRE(inner != nullptr);
  CHECK(outer->calls == 3);
  CHECK(inner->calls == 3);
  CHECK(inner->total_ms >= 12.0);
  CHECK(outer->total_ms >= outer->self_ms + inner->total_ms - 1e-9);
  CHECK(outer->self_ms >= 6.0);
  CHECK(inner->bytes == 3000);
  CHECK(outer->bytes == 3000);          // bytes are inclusive
  CHECK(rows.front().name == "outer");  // sorted by total time
  const std::string t = prof::table();
  CHECK(t.find("outer") != std::string::npos);
  CHECK(t.find("recorded") != std::string::npos);
}

TEST_CASE("profiler reports phases, modules and the kernels' own events") {
  const Tensor a = randn({64, 64}), b = randn({64, 64});
  prof::Session session;
  {
    prof::ModuleScope enc("encoder");
    prof::ModuleScope layer("0");
    (void)matmul(a, b);
    (void)(a + b);
  }
  {
    prof::BackwardPhase backward;
    (void)(a * b);
  }
  const auto rows = prof::key_averages();
  const prof::Row* mm = find_row(rows, "matmul");
  REQUIRE(mm != nullptr);
  CHECK(mm->kind == prof::Kind::Op);
  CHECK_FALSE(mm->backward);
  CHECK(mm->bytes == 3 * 64 * 64 * 4);
  const prof::Row* add = find_row(rows, "add");
  REQUIRE(add != nullptr);
  CHECK(add->bytes == 3 * 64 * 64 * 4);
  const prof::Row* mul = find_row(rows, "mul");
  REQUIRE(mul != nullptr);
  CHECK(mul->backward);
  const auto modules = prof::module_averages();
  bool seen = false;
  for (const prof::ModuleRow& m : modules) {
    if (m.module == "encoder.0") {
      seen = true;
      CHECK(m.calls == 1);
      CHECK(m.bytes == 6 * 64 * 64 * 4);
      CHECK(m.backward_ms == 0);
    }
  }
  CHECK(seen);
}

TEST_CASE("a conv on the gemm/im2col path is one conv event, no matmul") {
  // Its GEMM is the conv's work (op classes in bench/op_classes.py would
  // otherwise count it as Linear): kernels::gemm records no event of its own
  // there. A critic's 4^3 -> 2^3 layer (8 positions) takes that path.
  const kernels::ConvGeometry3d g = test::conv_geometry(
      4, 32, 24, {4, 4, 4}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1});
  std::vector<float> x(static_cast<size_t>(g.x_numel()), 1.0f);
  std::vector<float> w(static_cast<size_t>(g.w_numel()), 0.5f);
  std::vector<float> y(static_cast<size_t>(g.y_numel()));
  prof::Session session;
  kernels::conv3d_fwd<float>(g, x.data(), w.data(), y.data());
  const auto rows = prof::key_averages();
  const prof::Row* conv = find_row(rows, "conv3d_fwd");
  REQUIRE(conv != nullptr);
  CHECK(conv->calls == 1);
  CHECK(find_row(rows, "matmul") == nullptr);
}

TEST_CASE("profiler writes a Chrome trace of every closed event") {
  const std::string path = "profiler_test_trace.json";
  {
    prof::Session session;
    prof::Scope s("step", prof::Kind::User);
    std::thread worker([] { prof::Scope w("worker", prof::Kind::User); });
    worker.join();
    (void)(ones({4}) + ones({4}));
  }
  prof::write_chrome_trace(path);
  std::ifstream f(path);
  const nlohmann::json j = nlohmann::json::parse(f);
  std::remove(path.c_str());
  REQUIRE(j.contains("traceEvents"));
  std::set<std::string> names;
  std::set<int> tids;
  for (const auto& e : j["traceEvents"]) {
    CHECK(e["ph"] == "X");
    CHECK(e["dur"].get<double>() >= 0);
    names.insert(e["name"].get<std::string>());
    tids.insert(e["tid"].get<int>());
  }
  CHECK(names.count("step") == 1);
  CHECK(names.count("worker") == 1);
  CHECK(names.count("add") == 1);
  CHECK(tids.size() == 2);
  CHECK_ERROR_CONTAINS(
      prof::write_chrome_trace("/nonexistent-dir/t.json"), "write_chrome_trace",
      "/nonexistent-dir/t.json");
}

TEST_CASE(
    "profiler records nothing outside a session, and sessions do not nest") {
  CHECK_FALSE(prof::active());
  {
    prof::Session session;
    CHECK(prof::active());
    CHECK_ERROR_CONTAINS(prof::Session(), "profiler::Session", "nest");
  }
  { prof::Scope ignored("outside", prof::Kind::User); }
  for (const prof::Row& r : prof::key_averages())
    CHECK(r.name != "outside");
  CHECK_FALSE(prof::active());
}

}  // namespace voxgrad
