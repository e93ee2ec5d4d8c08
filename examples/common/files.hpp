#pragma once
// File helpers for the examples' outputs. Every file they write goes through
// voxgrad::write_file_atomic / voxgrad::AtomicFile (NOTE [ Atomic file
// writes ] in voxgrad/core/atomic_file.hpp): a reader, a crash or a full
// disk never leaves half a file, and a failed write names the file and the
// reason.

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "voxgrad/core/atomic_file.hpp"

namespace voxgrad::examples {

/// Text outputs (SVG, OBJ, CSV, JSON) go through the library's helper.
using voxgrad::write_file_atomic;

/// Creates `dir` and its parents, then checks that a file can be created in
/// it (so a read-only folder is refused before training, not after); throws
/// voxgrad::Error naming the folder and the reason.
void make_dirs(const std::string& dir);
/// A training example's last output: `result` as <out>/metrics.json, then
/// "outputs in <out>/" and the same JSON as the last line on stdout (which
/// scripts and tests read).
void write_metrics(
    const std::string& out, const nlohmann::ordered_json& result);
/// The whole file; throws voxgrad::Error naming the path when unreadable.
std::string read_file(const std::string& path);

}  // namespace voxgrad::examples
