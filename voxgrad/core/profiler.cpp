// voxgrad::profiler: per-thread event lists (no lock on the recording path
// except when a thread records its first event of a session), merged when
// the table or the trace is asked for.

#include "voxgrad/core/profiler.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "voxgrad/core/error.hpp"

namespace voxgrad::profiler {
namespace {

using Clock = std::chrono::steady_clock;

struct Event {
  const char* name;  // a literal or an interned string
  Kind kind;
  bool backward;
  int32_t module;  // interned module label, -1: none
  int32_t parent;  // index in the same thread's list, -1: top level
  int64_t t0, t1;  // ns since the session start
  int64_t bytes;
};

struct ThreadLog {
  int tid = 0;
  uint64_t session = 0;  // the session these events belong to
  std::mutex mu;         // the owner and snapshot() (uncontended otherwise)
  std::vector<Event> events;
  int32_t open = -1;  // innermost open event
  // The last module label this thread looked up, and its id.
  std::string cached_module;
  int32_t cached_id = -1;
};

struct Global {
  std::mutex mu;
  std::vector<std::shared_ptr<ThreadLog>> logs;
  std::vector<std::unique_ptr<std::string>> strings;  // interned
  std::unordered_map<std::string, const char*> string_index;
  std::vector<std::string> modules;
  std::unordered_map<std::string, int32_t> module_index;
  std::unordered_map<const void*, int32_t> node_module;
  Clock::time_point start, stop;
  bool stopped = false;
  std::atomic<uint64_t> session{0};
  int next_tid = 0;
};

Global& global() {
  static Global* g = new Global();  // never destroyed: threads may outlive
  return *g;
}

std::atomic<bool> g_active{false};

thread_local bool t_backward = false;
thread_local std::string t_module;  // the module path running here

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now() - global().start)
      .count();
}

ThreadLog& thread_log() {
  thread_local std::shared_ptr<ThreadLog> log;
  Global& g = global();
  const uint64_t session = g.session.load();
  if (!log || log->session != session) {
    std::lock_guard<std::mutex> lock(g.mu);
    if (!log) {
      log = std::make_shared<ThreadLog>();
      log->tid = g.next_tid++;
    }
    std::lock_guard<std::mutex> own(log->mu);
    log->events.clear();
    log->open = -1;
    log->cached_module.clear();
    log->cached_id = -1;
    log->session = session;
    if (std::find(g.logs.begin(), g.logs.end(), log) == g.logs.end())
      g.logs.push_back(log);
  }
  return *log;
}

const char* intern(const std::string& s) {
  Global& g = global();
  std::lock_guard<std::mutex> lock(g.mu);
  auto it = g.string_index.find(s);
  if (it != g.string_index.end())
    return it->second;
  g.strings.push_back(std::make_unique<std::string>(s));
  const char* p = g.strings.back()->c_str();
  g.string_index.emplace(s, p);
  return p;
}

int32_t module_id(const std::string& label) {
  if (label.empty())
    return -1;
  Global& g = global();
  std::lock_guard<std::mutex> lock(g.mu);
  auto [it, fresh] =
      g.module_index.try_emplace(label, static_cast<int32_t>(g.modules.size()));
  if (fresh)
    g.modules.push_back(label);
  return it->second;
}

int64_t begin_event(const char* name, Kind kind, int64_t bytes) {
  ThreadLog& log = thread_log();
  if (log.cached_module != t_module) {
    log.cached_module = t_module;
    log.cached_id = module_id(t_module);
  }
  const int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(log.mu);
  log.events.push_back(
      {name, kind, t_backward, log.cached_id, log.open, t, -1, bytes});
  log.open = static_cast<int32_t>(log.events.size() - 1);
  return log.open;
}

void end_event(int64_t index) {
  ThreadLog& log = thread_log();
  const int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(log.mu);
  if (index < 0 || index >= static_cast<int64_t>(log.events.size()))
    return;  // the session changed while the scope was open
  Event& e = log.events[static_cast<size_t>(index)];
  e.t1 = t;
  log.open = e.parent;
  if (e.parent >= 0)  // bytes are inclusive
    log.events[static_cast<size_t>(e.parent)].bytes += e.bytes;
}

// Closed events of every thread (one snapshot, under the lock).
struct Snapshot {
  std::vector<std::pair<int, std::vector<Event>>> threads;
  std::vector<std::string> modules;
  double wall_ms = 0;
};

Snapshot snapshot() {
  Global& g = global();
  std::lock_guard<std::mutex> lock(g.mu);
  Snapshot s;
  for (const auto& log : g.logs) {
    std::lock_guard<std::mutex> own(log->mu);
    if (log->session == g.session.load())
      s.threads.emplace_back(log->tid, log->events);
  }
  s.modules = g.modules;
  const auto end = g.stopped ? g.stop : Clock::now();
  s.wall_ms = std::chrono::duration<double, std::milli>(end - g.start).count();
  return s;
}

// Self time of each event: its duration minus its children's.
std::vector<int64_t> self_ns(const std::vector<Event>& ev) {
  std::vector<int64_t> self(ev.size(), 0);
  for (size_t i = 0; i < ev.size(); ++i)
    if (ev[i].t1 >= 0)
      self[i] += ev[i].t1 - ev[i].t0;
  for (size_t i = 0; i < ev.size(); ++i)
    if (ev[i].t1 >= 0 && ev[i].parent >= 0)
      self[static_cast<size_t>(ev[i].parent)] -= ev[i].t1 - ev[i].t0;
  return self;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Op:
      return "op";
    case Kind::Backward:
      return "backward";
    case Kind::Module:
      return "module";
    case Kind::User:
      return "user";
  }
  return "?";
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string human_bytes(int64_t b) {
  char buf[32];
  const double v = static_cast<double>(b);
  if (b >= (int64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.2f GB", v / 1073741824.0);
  else if (b >= (int64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.1f MB", v / 1048576.0);
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KB", v / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

}  // namespace

bool active() {
  return g_active.load(std::memory_order_relaxed);
}

Scope::Scope(const char* name, Kind kind, int64_t bytes) {
  if (active())
    index_ = begin_event(name, kind, bytes);
}

Scope::Scope(const std::string& name, Kind kind) {
  if (active())
    index_ = begin_event(intern(name), kind, 0);
}

Scope::~Scope() {
  if (index_ >= 0)
    end_event(index_);
}

void Scope::add_bytes(int64_t bytes) {
  if (index_ < 0)
    return;
  ThreadLog& log = thread_log();
  std::lock_guard<std::mutex> lock(log.mu);
  if (index_ < static_cast<int64_t>(log.events.size()))
    log.events[static_cast<size_t>(index_)].bytes += bytes;
}

BackwardPhase::BackwardPhase() : prev_(t_backward) {
  t_backward = true;
}

BackwardPhase::~BackwardPhase() {
  t_backward = prev_;
}

ModuleScope::ModuleScope(const std::string& label) {
  if (!active())
    return;
  prev_len_ = t_module.size();
  t_module += t_module.empty() ? label : "." + label;
  index_ = begin_event(intern(label), Kind::Module, 0);
}

ModuleScope::~ModuleScope() {
  if (index_ < 0)
    return;
  end_event(index_);
  t_module.resize(prev_len_);
}

void remember_module(const void* node) {
  if (!active())
    return;
  const int32_t id = module_id(t_module);
  Global& g = global();
  std::lock_guard<std::mutex> lock(g.mu);
  g.node_module[node] = id;
}

NodeScope::NodeScope(const char* op_name, const void* node) {
  if (!active())
    return;
  prev_module_ = t_module;
  {
    Global& g = global();
    std::lock_guard<std::mutex> lock(g.mu);
    const auto it = g.node_module.find(node);
    const int32_t id = it == g.node_module.end() ? -1 : it->second;
    t_module = id >= 0 ? g.modules[static_cast<size_t>(id)] : "";
  }
  index_ = begin_event(op_name, Kind::Backward, 0);
}

NodeScope::~NodeScope() {
  if (index_ < 0)
    return;
  end_event(index_);
  t_module = prev_module_;
}

Session::Session() {
  Global& g = global();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    VOXGRAD_CHECK(
        !g_active.load(),
        "profiler::Session: a session is already recording "
        "(sessions do not nest)");
    ++g.session;
    g.logs.clear();
    g.node_module.clear();
    g.modules.clear();
    g.module_index.clear();
    g.stopped = false;
    g.start = Clock::now();
  }
  g_active.store(true);
}

Session::~Session() {
  g_active.store(false);
  Global& g = global();
  std::lock_guard<std::mutex> lock(g.mu);
  g.stop = Clock::now();
  g.stopped = true;
}

double recorded_ms() {
  return snapshot().wall_ms;
}

std::vector<Row> key_averages() {
  const Snapshot s = snapshot();
  std::map<std::tuple<std::string, Kind, bool>, Row> rows;
  for (const auto& [tid, ev] : s.threads) {
    const std::vector<int64_t> self = self_ns(ev);
    for (size_t i = 0; i < ev.size(); ++i) {
      const Event& e = ev[i];
      if (e.t1 < 0)
        continue;  // still open
      Row& r = rows[{e.name, e.kind, e.backward}];
      r.name = e.name;
      r.kind = e.kind;
      r.backward = e.backward;
      r.calls += 1;
      r.total_ms += static_cast<double>(e.t1 - e.t0) * 1e-6;
      r.self_ms += static_cast<double>(self[i]) * 1e-6;
      r.bytes += e.bytes;
    }
  }
  std::vector<Row> out;
  for (auto& [key, r] : rows)
    out.push_back(r);
  std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return a.total_ms > b.total_ms;
  });
  return out;
}

std::vector<ModuleRow> module_averages() {
  const Snapshot s = snapshot();
  std::map<int32_t, ModuleRow> rows;
  for (const auto& [tid, ev] : s.threads) {
    const std::vector<int64_t> self = self_ns(ev);
    for (size_t i = 0; i < ev.size(); ++i) {
      const Event& e = ev[i];
      if (e.t1 < 0 || e.module < 0)
        continue;
      ModuleRow& r = rows[e.module];
      r.module = s.modules[static_cast<size_t>(e.module)];
      // Self times, so nested events are counted once; a module's own
      // event counts its calls.
      const double ms = static_cast<double>(self[i]) * 1e-6;
      (e.backward ? r.backward_ms : r.forward_ms) += ms;
      if (e.kind == Kind::Module)
        r.calls += 1;
      if (e.kind == Kind::Op)
        r.bytes += e.bytes;
    }
  }
  std::vector<ModuleRow> out;
  for (auto& [id, r] : rows)
    out.push_back(r);
  std::stable_sort(
      out.begin(), out.end(), [](const ModuleRow& a, const ModuleRow& b) {
        return a.forward_ms + a.backward_ms > b.forward_ms + b.backward_ms;
      });
  return out;
}

std::string table(int limit) {
  const std::vector<Row> rows = key_averages();
  std::ostringstream os;
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "%-34s %-8s %-8s %7s %10s %10s %8s %10s\n", "name",
      "kind", "phase", "calls", "self ms", "total ms", "self %", "bytes");
  os << buf;
  double self_sum = 0;
  for (const Row& r : rows)
    self_sum += r.self_ms;
  int shown = 0;
  for (const Row& r : rows) {
    if (shown++ == limit)
      break;
    std::snprintf(
        buf, sizeof buf,
        "%-34.34s %-8s %-8s %7lld %10.3f %10.3f %7.1f%% %10s\n", r.name.c_str(),
        kind_name(r.kind), r.backward ? "backward" : "forward",
        static_cast<long long>(r.calls), r.self_ms, r.total_ms,
        self_sum > 0 ? 100.0 * r.self_ms / self_sum : 0.0,
        r.bytes > 0 ? human_bytes(r.bytes).c_str() : "");
    os << buf;
  }
  std::snprintf(
      buf, sizeof buf,
      "recorded %.3f ms; self times add up to %.3f ms (all threads)\n",
      recorded_ms(), self_sum);
  os << buf;
  return os.str();
}

std::string module_table(int limit) {
  const std::vector<ModuleRow> rows = module_averages();
  std::ostringstream os;
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "%-34s %7s %12s %12s %10s\n", "module", "calls",
      "forward ms", "backward ms", "bytes");
  os << buf;
  int shown = 0;
  for (const ModuleRow& r : rows) {
    if (shown++ == limit)
      break;
    std::snprintf(
        buf, sizeof buf, "%-34.34s %7lld %12.3f %12.3f %10s\n",
        r.module.c_str(), static_cast<long long>(r.calls), r.forward_ms,
        r.backward_ms, human_bytes(r.bytes).c_str());
    os << buf;
  }
  return os.str();
}

void write_chrome_trace(const std::string& path) {
  const Snapshot s = snapshot();
  std::ostringstream os;
  os << "{\"traceEvents\": [\n";
  bool first = true;
  for (const auto& [tid, ev] : s.threads) {
    for (const Event& e : ev) {
      if (e.t1 < 0)
        continue;
      char buf[160];
      std::snprintf(
          buf, sizeof buf,
          "\"ph\": \"X\", \"pid\": 1, \"tid\": %d, \"ts\": %.3f, \"dur\": "
          "%.3f",
          tid, static_cast<double>(e.t0) * 1e-3,
          static_cast<double>(e.t1 - e.t0) * 1e-3);
      os << (first ? "" : ",\n") << "{\"name\": \"" << json_escape(e.name)
         << "\", \"cat\": \"" << kind_name(e.kind) << "\", " << buf
         << ", \"args\": {\"phase\": \""
         << (e.backward ? "backward" : "forward") << "\"";
      if (e.module >= 0)
        os << ", \"module\": \""
           << json_escape(s.modules[static_cast<size_t>(e.module)]) << "\"";
      if (e.bytes > 0)
        os << ", \"bytes\": " << e.bytes;
      os << "}}";
      first = false;
    }
  }
  os << "\n], \"displayTimeUnit\": \"ms\"}\n";
  // Written aside, then renamed: the file is whole or absent.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << os.str();
    f.flush();
    VOXGRAD_CHECK(
        f.good(), "profiler::write_chrome_trace: cannot write '", tmp, "'");
  }
  VOXGRAD_CHECK(
      std::rename(tmp.c_str(), path.c_str()) == 0,
      "profiler::write_chrome_trace: cannot rename '", tmp, "' to '", path,
      "'");
}

bool enabled_by_env() {
  const char* v = std::getenv("VOXGRAD_PROFILE");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

}  // namespace voxgrad::profiler
