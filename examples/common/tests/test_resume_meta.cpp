// What a resumed run reads from a checkpoint's metadata, hand-edited and
// re-signed with values of the wrong type: every reader names the field and
// what the file holds, and no raw nlohmann exception ("[json.exception...")
// escapes (issue 10, class 7).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "resume_meta.hpp"
#include "sampler.hpp"
#include "settings.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/nn/checkpoint.hpp"

using namespace voxgrad::examples;
using json = nlohmann::json;

namespace {

/// The voxgrad::Error message of `f` (fails the test on any other
/// exception, e.g. a raw nlohmann one).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const voxgrad::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a voxgrad::Error: " << e.what());
  }
  return "";
}

void check_error(
    const std::function<void()>& f, const std::vector<std::string>& parts) {
  const std::string msg = error_of(f);
  CHECK_MESSAGE(!msg.empty(), "no error");
  for (const auto& p : parts)
    CHECK_MESSAGE(msg.find(p) != std::string::npos, msg << " lacks " << p);
  CHECK(msg.find("[json.exception") == std::string::npos);
}

struct Config {
  int64_t steps = 10;
  double lr = 0.1;
  std::string schedule = "cosine";
};

Settings<Config> settings() {
  Settings<Config> s;
  s.add_int("steps", "steps", 1, 100, false, [](Config& c) -> int64_t& {
    return c.steps;
  });
  s.add_double(
      "lr", "lr", 0, 1, false, [](Config& c) -> double& { return c.lr; });
  s.add_choice(
      "lr-schedule", "schedule", {"cosine", "constant"},
      [](Config& c) -> std::string& { return c.schedule; });
  return s;
}

}  // namespace

TEST_CASE(
    "checkpoint format and version of any type are named, not thrown raw") {
  const json good = {{"format", "voxel_vae"}, {"version", 1}};
  check_meta_format(good, "c.json", "voxel_vae", 1);
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"format", 7}, {"version", 1}}, "metadata 'format' is 7"},
      {{{"format", nullptr}, {"version", 1}}, "metadata 'format' is null"},
      {{{"format", {1, 2}}, {"version", 1}}, "metadata 'format' is [1,2]"},
      {{{"version", 1}}, "metadata 'format' is missing"},
      {{{"format", "voxel_wgan_gp"}, {"version", 1}}, "is \"voxel_wgan_gp\""},
      {{{"format", "voxel_vae"}, {"version", "1"}}, "version \"1\""},
      {{{"format", "voxel_vae"}, {"version", 1.0}}, "version 1.0"},
      {{{"format", "voxel_vae"}, {"version", true}}, "version true"},
      {{{"format", "voxel_vae"}, {"version", 2}}, "version 2"},
      {{{"format", "voxel_vae"}, {"version", -1}}, "version -1"},
      {{{"format", "voxel_vae"}}, "version missing"},
      {json::array(), "metadata 'format' is missing"},
      {"text", "metadata 'format' is missing"},
  };
  for (const auto& c : bad) {
    const json& meta = c.first;
    const std::string& part = c.second;
    CAPTURE(meta.dump());
    check_error(
        [&] { check_meta_format(meta, "c.json", "voxel_vae", 1); },
        {"'c.json'", part});
  }
}

TEST_CASE("step, noise generator and history entries of the wrong type") {
  voxgrad::Generator gen(3);
  const std::vector<std::pair<json, std::string>> steps = {
      {{{"step", "3"}}, "'step' must be in [0, 10] (got \"3\")"},
      {{{"step", 3.5}}, "(got 3.5)"},
      {{{"step", true}}, "(got true)"},
      {{{"step", 11}}, "(got 11)"},
      {{{"step", -1}}, "(got -1)"},
      {{{"step", 18446744073709551615ULL}}, "(got 18446744073709551615)"},
      {json::object(), "missing 'step'"},
  };
  for (const auto& c : steps)
    check_error([&] { meta_step(c.first, 10); }, {c.second});
  const std::vector<json> gens = {
      {{"noise_generator", {{"seed", "1"}, {"offset", 0}}}},
      {{"noise_generator", {{"seed", 1}, {"offset", -1}}}},
      {{"noise_generator", {{"seed", 1.5}, {"offset", 0}}}},
      {{"noise_generator", {{"seed", 1}}}},
      {{"noise_generator", 5}},
  };
  for (const auto& meta : gens)
    check_error(
        [&] { restore_generator(meta, gen); }, {"'noise_generator' must be"});
  const json row = {1, "2.0", 3, nullptr, 5};
  CHECK(meta_number(row, 0, "'history'") == 1);
  check_error(
      [&] { meta_number(row, 1, "'history'"); },
      {"'history'", "entry 1", "must be a number"});
  check_error([&] { meta_number(row, 3, "'history'"); }, {"entry 3"});
  check_error([&] { meta_number(row, 9, "'history'"); }, {"entry 9"});
  check_error([&] { meta_number(json(4), 0, "'history'"); }, {"entry 0"});
}

TEST_CASE("saved settings of the wrong type name the setting") {
  const auto s = settings();
  const Config c = s.from_json(
      {{"steps", 5}, {"lr", 0.5}, {"lr_schedule", "constant"}}, "config");
  CHECK(c.steps == 5);
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"steps", "5"}, {"lr", 0.5}, {"lr_schedule", "constant"}},
       "'steps' must be an integer in [1, 100] (got \"5\")"},
      {{{"steps", 5.0}, {"lr", 0.5}, {"lr_schedule", "constant"}},
       "'steps' must be an integer in [1, 100] (got 5.0)"},
      {{{"steps", true}, {"lr", 0.5}, {"lr_schedule", "constant"}},
       "(got true)"},
      {{{"steps", 18446744073709551615ULL},
        {"lr", 0.5},
        {"lr_schedule", "constant"}},
       "'steps'"},
      {{{"steps", 5}, {"lr", "0.5"}, {"lr_schedule", "constant"}},
       "'lr' must be a number in [0, 1] (got \"0.5\")"},
      {{{"steps", 5}, {"lr", nullptr}, {"lr_schedule", "constant"}},
       "(got null)"},
      {{{"steps", 5}, {"lr", 0.5}, {"lr_schedule", 1}},
       "'lr_schedule' must be one of cosine, constant (got 1)"},
      {{{"steps", 5}, {"lr", 0.5}}, "'lr_schedule' must be one of"},
      {json::array(), "expected a JSON object"},
  };
  for (const auto& b : bad) {
    const json& j = b.first;
    const std::string& part = b.second;
    CAPTURE(j.dump());
    check_error([&] { s.from_json(j, "checkpoint config"); }, {part});
  }
}

TEST_CASE("sampler state of the wrong type names the field") {
  EpochSampler s(10, 7);
  for (const char* key : {"size", "epoch", "cursor", "seed"}) {
    for (const json& v : {json("1"), json(1.5), json(true), json(nullptr)}) {
      json st = s.state();
      st[key] = v;
      CAPTURE(st.dump());
      check_error([&] { s.load_state(st); }, {std::string("'") + key + "'"});
    }
  }
}

TEST_CASE(
    "a 250000-step history (the --steps limit) fits a loadable checkpoint") {
  // The histories both trainers keep, at their longest and with the longest
  // numbers JSON can print: voxel_vae's [step, loss, rec, kl, lr] per step
  // plus [step, iou] per step (--eval-every 1); voxel_wgan_gp's rows have the
  // same shape as the first. save() must accept it and load() read it back.
  const int64_t steps = 250'000;
  const double longest = -2.2250738585072014e-308;  // 24 characters
  json rows = json::array(), iou = json::array();
  for (int64_t s = 1; s <= steps; ++s) {
    rows.push_back({s, longest, longest, longest, longest});
    iou.push_back({s, longest});
  }
  const json meta = {{"history", {{"steps", rows}, {"iou", iou}}}};
  CHECK(meta.dump().size() < voxgrad::kMaxCheckpointMetadataBytes);
  struct One : voxgrad::nn::Module {
    One() {
      register_parameter("w", voxgrad::ones({2}));
    }
  } m;
  const auto path = std::filesystem::temp_directory_path() /
                    ("voxgrad_history_" + std::to_string(::getpid()) + ".json");
  voxgrad::save(path.string(), m, nullptr, meta);
  const json back = voxgrad::load(path.string(), m);
  std::filesystem::remove(path);
  CHECK(back["history"]["steps"].size() == static_cast<size_t>(steps));
  CHECK(back == meta);
}

TEST_CASE(
    "loop state and history round-trip, and a bad history changes nothing") {
  struct Row {
    int64_t step;
    double loss;
  };
  const HistoryRows<Row> rows{
      2, "[step, loss]",
      [](const Row& r) -> json {
        return {r.step, r.loss};
      },
      [](const json& row) {
        return Row{row[0].get<int64_t>(), meta_number(row, 1, "'history'")};
      }};
  EpochSampler sampler(10, 7);
  sampler.next_batch(3);
  voxgrad::Generator noise(5);
  noise.advance(9);
  const std::vector<Row> history = {{1, 0.5}, {2, 0.25}};
  const json meta = with_history(
      loop_meta("voxel_vae", 1, {{"steps", 5}}, 2, sampler, noise), history,
      rows);
  CHECK(meta["format"] == "voxel_vae");
  CHECK(meta["config"]["steps"] == 5);
  CHECK(meta["history"] == json::parse("[[1, 0.5], [2, 0.25]]"));

  EpochSampler s2(10, 7);
  voxgrad::Generator n2(5);
  int64_t step = 0;
  std::vector<Row> h2;
  bool more_ran = false;
  restore_loop(
      "c.json", meta, 5, rows, s2, n2, step, h2, [&] { more_ran = true; });
  CHECK(step == 2);
  CHECK(n2.offset() == noise.offset());
  CHECK(s2.state() == sampler.state());
  REQUIRE(h2.size() == 2);
  CHECK(h2[1].loss == 0.25);
  CHECK(more_ran);

  const std::vector<std::pair<json, std::string>> bad = {
      {json::object(), "missing 'history'"},
      {json(3), "'history' must be a list of [step, loss] (got number)"},
      {json::parse("[[1, 0.5], [2]]"),
       "each entry must be [step, loss] (got [2])"},
      {json::parse("[[1, 0.5], [3, 0.1]]"),
       "steps must run 1, 2, ... (entry 2 is step 3)"},
      {json::parse("[[1, 0.5]]"), "history has 1 entries for step 2"},
      {json::parse("[[1, 0.5], [2, \"x\"]]"), "entry 1 of [2,\"x\"]"},
  };
  for (const auto& c : bad) {
    const json& history_json = c.first;
    const std::string& part = c.second;
    json m = meta;
    if (history_json.is_object())
      m.erase("history");
    else
      m["history"] = history_json;
    CAPTURE(history_json.dump());
    int64_t st = 7;
    std::vector<Row> h{{1, 9.0}};
    voxgrad::Generator g(5);
    check_error(
        [&] { restore_loop("c.json", m, 5, rows, s2, g, st, h); },
        {"cannot resume from 'c.json'", part});
    CHECK(st == 7);  // all or nothing
    CHECK(h.size() == 1);
    CHECK(g.offset() == 0);
  }
}
