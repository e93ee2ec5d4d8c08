#pragma once
// The loop state the training examples keep in their checkpoints' metadata
// beside the model (format, settings, step, sampler, noise generator,
// history), written in one shape and read back with the checks a
// hand-edited or foreign file needs: each problem is a voxgrad::Error that
// names the key, the rule and what the file holds.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampler.hpp"
#include "settings.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::examples {

/// meta[key]; throws naming `key` when meta is not an object holding it.
const nlohmann::json& meta_field(const nlohmann::json& meta, const char* key);

/// Checks that the checkpoint at `path` is this program's: metadata
/// "format" is the string `format` and "version" the integer `version`
/// (each problem names the key and what the file holds, whatever its type).
void check_meta_format(
    const nlohmann::json& meta,
    const std::string& path,
    const char* format,
    int64_t version);

/// A number of a history row: row[i] must be a JSON number (else the error
/// names `what`, the row and the entry).
double meta_number(const nlohmann::json& row, size_t i, const char* what);

/// meta["step"], an integer in [0, max_steps].
int64_t meta_step(const nlohmann::json& meta, int64_t max_steps);

/// {"seed": u64, "offset": u64}: where `gen` is in its stream.
nlohmann::json generator_state(const Generator& gen);

/// Puts `gen` where meta[key] says (see generator_state).
void restore_generator(
    const nlohmann::json& meta,
    Generator& gen,
    const char* key = "noise_generator");

/// The metadata a training example's checkpoint holds beside its model and
/// optimizer: {"format", "version", "config", "step", "sampler",
/// "noise_generator"}; the trainer adds its history (with_history) and
/// whatever else its steps depend on (an lr scheduler, another generator).
inline nlohmann::json loop_meta(
    const char* format,
    int64_t version,
    nlohmann::json config,
    int64_t step,
    const EpochSampler& sampler,
    const Generator& noise) {
  return {
      {"format", format},
      {"version", version},
      {"config", std::move(config)},
      {"step", step},
      {"sampler", sampler.state()},
      {"noise_generator", generator_state(noise)}};
}

/// The metadata of the checkpoint at `path` once the whole file is verified
/// (JSON, checksum, tensors: it is read into an empty module with strict
/// off, loading nothing) and found to be this program's (check_meta_format):
/// what a resumed run reads before it creates or writes anything.
nlohmann::json peek_meta(
    const std::string& path, const char* format, int64_t version);

/// The settings saved in the checkpoint at `path` (see peek_meta), read by
/// the program's Settings table.
template <class Config>
Config saved_config(
    const Settings<Config>& settings,
    const std::string& path,
    const char* format,
    int64_t version) {
  return settings.from_json(
      meta_field(peek_meta(path, format, version), "config"),
      "checkpoint config");
}

/// Runs `restore`, which reads a loaded checkpoint's metadata into the
/// trainer; any exception becomes a voxgrad::Error "cannot resume from
/// '<path>': <what>".
void restoring(const std::string& path, const std::function<void()>& restore);

/// meta["history"]: a list of `steps` rows of `width` entries, [step, ...],
/// the steps running 1, 2, ..., `steps`; errors show `columns`, the form of
/// a row ("[step, loss, lr, grad_norm]"). The other entries are the
/// caller's to read (meta_number).
const nlohmann::json& meta_history(
    const nlohmann::json& meta,
    int64_t steps,
    size_t width,
    const char* columns);

/// A trainer's history as checkpoint metadata: one row of `width` entries
/// per step, of the form `columns` ("[step, loss, lr, grad_norm]"), written
/// by `write` and made a Stats again by `read` (once meta_history has
/// checked the list and its steps; read numbers with meta_number).
template <class Stats>
struct HistoryRows {
  size_t width;
  const char* columns;
  std::function<nlohmann::json(const Stats& stats)> write;
  std::function<Stats(const nlohmann::json& row)> read;
};

/// `meta` (loop_meta's) with the trainer's history as "history", a list of
/// `rows`.
template <class Stats>
nlohmann::json with_history(
    nlohmann::json meta,
    const std::vector<Stats>& history,
    const HistoryRows<Stats>& rows) {
  nlohmann::json& list = meta["history"] = nlohmann::json::array();
  for (const Stats& s : history)
    list.push_back(rows.write(s));
  return meta;
}

/// Restores the loop state a trainer saved with loop_meta and with_history,
/// from the metadata of a checkpoint just loaded: `step` (at most
/// `max_steps`), the noise generator, the history and the sampler; `more`
/// reads whatever else the trainer keeps (an lr scheduler). Each part is
/// read into a copy first, so a failure leaves step, generator and history
/// as they were, and is reported as "cannot resume from '<path>': ...".
template <class Stats>
void restore_loop(
    const std::string& path,
    const nlohmann::json& meta,
    int64_t max_steps,
    const HistoryRows<Stats>& rows,
    EpochSampler& sampler,
    Generator& noise,
    int64_t& step,
    std::vector<Stats>& history,
    const std::function<void()>& more = {}) {
  restoring(path, [&] {
    const int64_t saved_step = meta_step(meta, max_steps);
    Generator saved_noise = noise;
    restore_generator(meta, saved_noise);
    std::vector<Stats> saved_history;
    for (const auto& row :
         meta_history(meta, saved_step, rows.width, rows.columns))
      saved_history.push_back(rows.read(row));
    sampler.load_state(meta_field(meta, "sampler"));
    if (more)
      more();
    noise = saved_noise;
    step = saved_step;
    history = std::move(saved_history);
  });
}

}  // namespace voxgrad::examples
