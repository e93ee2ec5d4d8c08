#pragma once
// File helpers for the examples' outputs. Text outputs are written to a
// temporary file in the same folder and renamed over the target, so a
// reader (or a crash) never sees half a file.

#include <string>

namespace voxgrad::examples {

/// Creates `dir` and its parents; throws voxgrad::Error naming it on failure.
void make_dirs(const std::string& dir);
/// Replaces `path` atomically with `text`.
void write_file_atomic(const std::string& path, const std::string& text);
/// The whole file; throws voxgrad::Error naming the path when unreadable.
std::string read_file(const std::string& path);

}  // namespace voxgrad::examples
