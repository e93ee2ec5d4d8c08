#pragma once
// The loop state both training examples keep in their checkpoints' metadata
// beside the model (step, noise generator), read back with the checks a
// hand-edited or foreign file needs: each problem is a voxgrad::Error that
// names the key, the rule and what the file holds.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

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

}  // namespace voxgrad::examples
