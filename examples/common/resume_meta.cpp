#include "resume_meta.hpp"

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

const nlohmann::json& meta_field(const nlohmann::json& meta, const char* key) {
  VOXGRAD_CHECK(
      meta.is_object() && meta.contains(key), "checkpoint metadata: missing '",
      key, "'");
  return meta[key];
}

int64_t meta_step(const nlohmann::json& meta, int64_t max_steps) {
  const nlohmann::json& step = meta_field(meta, "step");
  VOXGRAD_CHECK(
      step.is_number_integer() && step.get<int64_t>() >= 0 &&
          step.get<int64_t>() <= max_steps,
      "checkpoint metadata: 'step' must be in [0, ", max_steps, "] (got ",
      step.dump(), ")");
  return step.get<int64_t>();
}

nlohmann::json generator_state(const Generator& gen) {
  return {{"seed", gen.seed()}, {"offset", gen.offset()}};
}

void restore_generator(
    const nlohmann::json& meta, Generator& gen, const char* key) {
  const nlohmann::json& s = meta_field(meta, key);
  VOXGRAD_CHECK(
      s.is_object() && s.contains("seed") && s["seed"].is_number_unsigned() &&
          s.contains("offset") && s["offset"].is_number_unsigned(),
      "checkpoint metadata: '", key,
      "' must be {\"seed\": u64, \"offset\": u64} (got ", s.dump(), ")");
  gen.set_state(s["seed"].get<uint64_t>(), s["offset"].get<uint64_t>());
}

}  // namespace voxgrad::examples
