// A model author's file: <voxgrad/voxgrad.hpp> and nothing of nlohmann's but
// the forward declarations it names. load() must compile here whether its
// result is ignored or kept in an `auto` variable (a compile test: this file
// failing to build is the failure), and the metadata must survive a
// save/load round trip without the JSON header. test_util.hpp adds doctest
// and standard headers only; the #error below makes sure nothing brought
// nlohmann/json.hpp in.

#include <sstream>
#include <string>
#include <utility>

#include <voxgrad/voxgrad.hpp>

#include "test_util.hpp"

#ifdef INCLUDE_NLOHMANN_JSON_HPP_
#error "this test must compile without <nlohmann/json.hpp>"
#endif

namespace voxgrad {
namespace {

TEST_CASE("checkpoint load() without nlohmann/json.hpp: ignored, auto, kept") {
  test::TempDir dir("ckpt_nojson");
  manual_seed(0);
  nn::Linear model(3, 2);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1));
  voxgrad::save(dir / "a.json", *model, &opt);

  nn::Linear again(3, 2);
  optim::SGD opt2(again->parameters(), optim::SGDOptions(0.1));
  voxgrad::load(dir / "a.json", *again, &opt2);  // the result ignored
  CHECK(test::bit_equal(again->weight(), model->weight()));

  auto meta = voxgrad::load(dir / "a.json", *again);
  CHECK(meta.dump() == "{}");  // saved without metadata
  CHECK_FALSE(meta.contains("epoch"));
  CHECK_ERROR_CONTAINS(meta["epoch"], "no such key");
}

TEST_CASE("checkpoint metadata round trip without nlohmann/json.hpp") {
  test::TempDir dir("ckpt_nojson");
  // A converted PyTorch checkpoint's metadata, read without its tensors.
  nn::Module nothing;
  const auto meta = voxgrad::load(
      VOXGRAD_TEST_DATA_DIR "/golden/interop_tiny.ckpt.json", nothing, nullptr,
      LoadOptions{.strict = false});
  REQUIRE(meta.contains("converted_from"));
  const std::string text = meta.dump();
  CHECK(text.find("\"converted_from\":\"tiny.pt\"") != std::string::npos);

  // Saved again with another model (json() is a const nlohmann::json&, which
  // save() takes as it is), then loaded back: the same metadata.
  nn::Linear model(2, 2);
  voxgrad::save(dir / "b.cbor", *model, nullptr, meta.json());
  auto back = voxgrad::load(dir / "b.cbor", *model);
  CHECK(back.dump() == text);
  CHECK(back.dump(2) == meta.dump(2));
  std::ostringstream os;
  os << back;
  CHECK(os.str() == text);

  // Copies and moves need no JSON header either.
  CheckpointMetadata copy = back;
  CheckpointMetadata moved = std::move(back);
  CHECK(copy.dump() == text);
  CHECK(moved.dump() == text);
}

}  // namespace
}  // namespace voxgrad
