#include "resume_meta.hpp"

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad::examples {

const nlohmann::json& meta_field(const nlohmann::json& meta, const char* key) {
  VOXGRAD_CHECK(
      meta.is_object() && meta.contains(key), "checkpoint metadata: missing '",
      key, "'");
  return meta[key];
}

void check_meta_format(
    const nlohmann::json& meta,
    const std::string& path,
    const char* format,
    int64_t version) {
  auto shown = [&](const char* key) {
    return meta.is_object() && meta.contains(key) ? meta[key].dump()
                                                  : std::string("missing");
  };
  const bool format_ok = meta.is_object() && meta.contains("format") &&
                         meta["format"].is_string() &&
                         meta["format"].get_ref<const std::string&>() == format;
  VOXGRAD_CHECK(
      format_ok, quote(path), " is not a ", format,
      " checkpoint (metadata 'format' is ", shown("format"), ")");
  const nlohmann::json* v =
      meta.contains("version") ? &meta["version"] : nullptr;
  const bool version_ok =
      v != nullptr && v->is_number_integer() &&
      (v->is_number_unsigned()
           ? version >= 0 &&
                 v->get<uint64_t>() == static_cast<uint64_t>(version)
           : v->get<int64_t>() == version);
  VOXGRAD_CHECK(
      version_ok, quote(path), ": unsupported ", format, " checkpoint version ",
      shown("version"), " (this program reads version ", version, ")");
}

double meta_number(const nlohmann::json& row, size_t i, const char* what) {
  VOXGRAD_CHECK(
      row.is_array() && i < row.size() && row[i].is_number(),
      "checkpoint metadata: ", what, ": entry ", i, " of ", row.dump(),
      " must be a number");
  return row[i].get<double>();
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

nlohmann::json peek_meta(
    const std::string& path, const char* format, int64_t version) {
  nn::Module nothing;
  nlohmann::json meta =
      load(path, nothing, nullptr, LoadOptions{.strict = false});
  check_meta_format(meta, path, format, version);
  return meta;
}

void restoring(const std::string& path, const std::function<void()>& restore) {
  try {
    restore();
  } catch (const std::exception& e) {
    throw Error(std::string("cannot resume from '") + path + "': " + e.what());
  }
}

const nlohmann::json& meta_history(
    const nlohmann::json& meta,
    int64_t steps,
    size_t width,
    const char* columns) {
  const nlohmann::json& rows = meta_field(meta, "history");
  VOXGRAD_CHECK(
      rows.is_array(), "checkpoint metadata: 'history' must be a list of ",
      columns, " (got ", rows.type_name(), ")");
  int64_t n = 0;
  for (const auto& row : rows) {
    VOXGRAD_CHECK(
        row.is_array() && row.size() == width && row[0].is_number_integer(),
        "checkpoint metadata: 'history': each entry must be ", columns,
        " (got ", row.dump(), ")");
    ++n;
    VOXGRAD_CHECK(
        row[0].get<int64_t>() == n,
        "checkpoint metadata: 'history': steps must run 1, 2, ... (entry ", n,
        " is step ", row[0].get<int64_t>(), ")");
  }
  VOXGRAD_CHECK(
      n == steps, "checkpoint metadata: history has ", n, " entries for step ",
      steps);
  return rows;
}

}  // namespace voxgrad::examples
