// voxgrad::CheckpointMetadata (what load() returns) used as the
// nlohmann::json load() returned before: conversions (moving out of a
// temporary, and a const reference that keeps its temporary alive),
// comparison, member access and its errors, copies and moves.
// test_checkpoint_metadata_without_json.cpp checks the other side: code that
// never includes nlohmann/json.hpp.

#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad {
namespace {

using json = nlohmann::json;

const json kMeta = {{"epoch", 3}, {"name", "run"}, {"losses", {0.5, 0.25}}};

TEST_CASE("checkpoint metadata converts to nlohmann::json as load() did") {
  test::TempDir dir("ckpt_meta");
  nn::Linear model(3, 2);
  save(dir / "a.json", *model, nullptr, kMeta);

  const json copied = load(dir / "a.json", *model);  // moved from the result
  CHECK(copied == kMeta);
  // By value: the reference keeps a temporary json alive (ASan would see a
  // reference into the destroyed result).
  const json& bound = load(dir / "a.json", *model);
  CHECK(bound == kMeta);
  json assigned;
  assigned = load(dir / "a.json", *model);
  CHECK(assigned == kMeta);
  CHECK(load(dir / "a.json", *model).json() == kMeta);

  auto meta = load(dir / "a.json", *model);
  static_assert(std::is_same_v<decltype(meta), CheckpointMetadata>);
  CHECK(meta == kMeta);
  CHECK(kMeta == meta);  // the reversed comparison (C++20)
  CHECK(meta != json::object());
  CHECK(meta["epoch"] == 3);
  CHECK(meta["losses"][1] == 0.25);
  CHECK(load(dir / "a.json", *model)["name"] == "run");  // from a temporary
  CHECK(meta.contains("name"));
  CHECK_FALSE(meta.contains("nam"));
  CHECK(meta.dump() == kMeta.dump());
  CHECK(meta.dump(2) == kMeta.dump(2));
  std::ostringstream os;
  os << meta;
  CHECK(os.str() == kMeta.dump());

  // Passed back to save() (as the const json& it takes): a round trip.
  save(dir / "b.cbor", *model, nullptr, meta);
  CHECK(load(dir / "b.cbor", *model) == kMeta);
}

TEST_CASE("checkpoint metadata copies are independent, and a move empties it") {
  CheckpointMetadata empty;
  CHECK(empty == json::object());
  CHECK(empty.dump() == "{}");

  CheckpointMetadata meta(kMeta);
  CheckpointMetadata copy = meta;
  CheckpointMetadata assigned;
  assigned = meta;
  const json out = std::move(meta);  // moves the JSON out
  CHECK(out == kMeta);
  CHECK(meta.json().is_null());  // as a moved-from nlohmann::json
  CHECK_FALSE(meta.contains("epoch"));
  CHECK(copy == kMeta);
  CHECK(assigned == kMeta);

  CheckpointMetadata moved = std::move(copy);
  CHECK(moved == kMeta);
  CHECK(copy.json().is_null());  // moved-from: no object behind it
  copy = moved;                  // usable again after assignment
  CHECK(copy == kMeta);
  const json member = std::move(moved)["losses"];
  CHECK(member == json{0.5, 0.25});
}

TEST_CASE("checkpoint metadata: a missing key's error lists the keys") {
  const CheckpointMetadata meta(kMeta);
  CHECK_ERROR_CONTAINS(
      meta["epoh"], "checkpoint metadata['epoh']: no such key",
      "'epoch', 'losses', 'name'", "contains()");
  CHECK_ERROR_CONTAINS(
      CheckpointMetadata(kMeta)["epoh"], "checkpoint metadata['epoh']");
  CHECK_ERROR_CONTAINS(
      CheckpointMetadata()["x"], "no such key (the metadata has none)");
  CHECK_ERROR_CONTAINS(
      CheckpointMetadata(json::array())["x"],
      "checkpoint metadata['x']: the metadata is array, not an object");
  // Nine keys: eight are named, then "...".
  json many = json::object();
  for (int i = 0; i < 9; ++i) {
    // Appended, not "k" + std::to_string(i): g++ 12 -O3 reports a false
    // -Wrestrict overlap in that operator+.
    std::string key = "k";
    key += std::to_string(i);
    many[key] = i;
  }
  CHECK_ERROR_CONTAINS(CheckpointMetadata(many)["x"], "'k6', 'k7', ...)");
}

}  // namespace
}  // namespace voxgrad
