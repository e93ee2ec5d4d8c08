#pragma once
// voxgrad::profiler: where a training step's time goes, per op and per
// module, forward and backward (torch.profiler's key_averages and Chrome
// trace, for voxgrad).
//
// ```cpp
// {
//   voxgrad::profiler::Session session;       // records until destroyed
//   train_step();
//   std::cout << voxgrad::profiler::table();  // sorted by total time
//   voxgrad::profiler::write_chrome_trace("step.json");
// }
// ```
//
// What is recorded: every kernel call (elementwise, reductions, matmul,
// convolutions, resampling, optimizer updates, copies) as an "op" event
// named after the op ("add", "leaky_relu", "conv3d_fwd", "matmul", ...),
// with the bytes it reads and writes; every node the backward engine runs
// as a "backward" event ("conv3d backward"); module calls as "module"
// events. Events nest: an event's self time is its time minus that of the
// events inside it, so the table's self times add up to the recorded time.
// Each event carries the phase it ran in (forward or backward), and the
// module that was running when the op was recorded.
//
// Costs nothing measurable when no session is active (one relaxed atomic
// load per kernel call). Events from any thread are kept; the table adds
// them up, the trace shows one row per thread. Examples turn it on with
// VOXGRAD_PROFILE=1 (see enabled_by_env()).

#include <cstdint>
#include <string>
#include <vector>
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::profiler {

enum class Kind : uint8_t { Op, Backward, Module, User };

/// True while a Session records.
bool active();

/// Records one event from construction to destruction (if a session is
/// active). `name` must outlive the session (a string literal, an op name);
/// use the std::string overload for names built at run time.
class Scope {
 public:
  explicit Scope(const char* name, Kind kind = Kind::User, int64_t bytes = 0);
  Scope(const std::string& name, Kind kind);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  /// Adds to the bytes the event moved.
  void add_bytes(int64_t bytes);

 private:
  int64_t index_ = -1;  // slot in this thread's event list, -1 if off
};

/// Marks the calling thread as running the backward pass while it lives
/// (the engine holds one per sweep), so its events report phase "backward".
class BackwardPhase {
 public:
  BackwardPhase();
  ~BackwardPhase();
  BackwardPhase(const BackwardPhase&) = delete;
  BackwardPhase& operator=(const BackwardPhase&) = delete;

 private:
  bool prev_;
};

/// A module call: events inside it are charged to `label` (nested modules
/// join their labels with '.').
class ModuleScope {
 public:
  explicit ModuleScope(const std::string& label);
  ~ModuleScope();
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

 private:
  int64_t index_ = -1;
  size_t prev_len_ = 0;
};

/// Autograd's two hooks. remember_module(node) notes the module running
/// when a node is recorded; a NodeScope around the node's backward records
/// a "backward" event named after the op and charges it, and the kernels it
/// runs, to that module.
void remember_module(const void* node);
/// Charges a node's backward, and the kernels it runs, to the module that
/// recorded the node (see remember_module()).
class NodeScope {
 public:
  NodeScope(const char* op_name, const void* node);
  ~NodeScope();
  NodeScope(const NodeScope&) = delete;
  NodeScope& operator=(const NodeScope&) = delete;

 private:
  int64_t index_ = -1;
  std::string prev_module_;
};

/// Records from construction to destruction; clears earlier events first.
/// Sessions do not nest.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

/// One row of key_averages(): events of one name, kind and phase.
struct Row {
  std::string name;
  Kind kind = Kind::User;
  bool backward = false;
  int64_t calls = 0;
  double self_ms = 0, total_ms = 0;
  int64_t bytes = 0;  // moved by the op kernels inside (inclusive)
};

/// The recorded events grouped by (name, kind, phase), sorted by total time,
/// like torch.profiler's key_averages().
std::vector<Row> key_averages();

/// Per module: its forward and backward time (the ops it recorded), calls
/// of its forward, bytes; sorted by forward + backward time.
struct ModuleRow {
  std::string module;
  int64_t calls = 0;
  double forward_ms = 0, backward_ms = 0;
  int64_t bytes = 0;
};
std::vector<ModuleRow> module_averages();

/// key_averages() as text: the `limit` rows of most total time, then the
/// recorded wall time and the sum of self times.
std::string table(int limit = 30);

/// module_averages() as text.
std::string module_table(int limit = 30);

/// Writes the recorded events as Chrome-trace JSON (chrome://tracing,
/// ui.perfetto.dev): one complete ("X") event each, microseconds from the
/// session start. Throws voxgrad::Error if the file cannot be written.
void write_chrome_trace(const std::string& path);

/// Milliseconds between the session's start and its end (or now).
double recorded_ms();

/// True when the environment variable VOXGRAD_PROFILE is set to a value
/// other than "" or "0" (how the examples decide to profile).
bool enabled_by_env();

}  // namespace voxgrad::profiler

VOXGRAD_PUBLIC_END
