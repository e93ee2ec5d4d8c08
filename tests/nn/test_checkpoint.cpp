// Checkpoints: bit-identical round trips (JSON and CBOR), optimizer state and
// metadata, all-problems-at-once validation, hostile and corrupted inputs
// (truncation at every offset, seeded byte flips), and atomic saves that
// survive a SIGKILL mid-write.

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"
#include "voxgrad/optim/sgd.hpp"

namespace voxgrad {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Inner : nn::Module {
  Tensor weight, running;
  explicit Inner(Dtype dt) {
    weight = register_parameter("weight", arange(6, dt).reshape({2, 3}) / 7.0);
    running = register_buffer("running", ones({3}, dt));
  }
  std::string name() const override {
    return "Inner";
  }
};

/// A small model with a nested child (dotted names), f32 or f64.
struct Tiny : nn::Module {
  std::shared_ptr<Inner> inner;
  Tensor bias;
  explicit Tiny(Dtype dt = kFloat32) {
    inner = register_module("inner", std::make_shared<Inner>(dt));
    bias = register_parameter("bias", full({1, 2, 1, 1, 1}, 0.25, dt));
  }
  std::string name() const override {
    return "Tiny";
  }
  Tensor forward(const Tensor& x) {
    return matmul(x, inner->weight.transpose(0, 1)).sum() + bias.sum();
  }
};

/// One model of `n` float32 parameters (for the kill-mid-write tests).
struct Big : nn::Module {
  Tensor w;
  Big(int64_t n, double value) {
    w = register_parameter("w", full({n}, value));
  }
};

/// Every parameter and buffer of `m`, as bytes, by name.
std::vector<std::pair<std::string, std::vector<uint8_t>>> snapshot(
    const nn::Module& m) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (const auto& [n, t] : m.state_dict()) {
    const Tensor c = t.contiguous();
    const auto* p = static_cast<const uint8_t*>(c.raw_data());
    out.emplace_back(
        n, std::vector<uint8_t>(
               p, p + static_cast<size_t>(c.numel()) * itemsize(c.dtype())));
  }
  return out;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::ssize(b));
}

std::vector<uint8_t> as_bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

/// A fresh folder, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("voxgrad_ckpt_" + std::to_string(::getpid()) + "_" +
            std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const {
    return (path / name).string();
  }
};

/// A trained Tiny + Adam (so the optimizer has state to save).
struct Trained {
  Tiny model;
  optim::Adam opt;
  Trained() : opt(model.parameters(), optim::AdamOptions(0.01).amsgrad(true)) {
    for (int k = 0; k < 2; ++k) {
      opt.zero_grad();
      model.forward(ones({4, 3})).backward();
      opt.step();
    }
  }
};

/// The document bytes of `doc` after recomputing its checksum.
std::vector<uint8_t> serialise(json doc, bool cbor) {
  doc["checksum"] = detail::checkpoint_checksum(doc);
  if (cbor)
    return json::to_cbor(doc);
  return as_bytes(doc.dump());
}

std::string load_error(
    const std::vector<uint8_t>& bytes,
    bool cbor,
    nn::Module& m,
    optim::Optimizer* opt = nullptr,
    LoadOptions options = {}) {
  return test::error_of(
      [&] { detail::load_from_bytes(bytes, cbor, "mem", m, opt, options); });
}

}  // namespace

TEST_CASE("checkpoint round trip is bit-identical in JSON and CBOR") {
  TempDir dir;
  for (Dtype dt : {kFloat32, kFloat64}) {
    Tiny src(dt);
    {
      NoGradGuard g;
      // -0.0, the smallest subnormal, the largest finite, and an odd value.
      const double tiny =
          dt == kFloat32
              ? static_cast<double>(std::numeric_limits<float>::denorm_min())
              : std::numeric_limits<double>::denorm_min();
      const double huge =
          dt == kFloat32
              ? static_cast<double>(std::numeric_limits<float>::max())
              : std::numeric_limits<double>::max();
      src.inner->weight.copy_(
          tensor({-0.0, tiny, -tiny, huge, 1.0 / 3, -1e-30}, {2, 3}, dt));
    }
    for (const char* name : {"a.json", "a.cbor", "A.CBOR"}) {
      CAPTURE(name);
      CAPTURE(dtype_name(dt));
      save(dir / name, src, nullptr, {{"note", "hello"}});
      Tiny dst(dt);
      const json meta = load(dir / name, dst);
      CHECK(meta == json{{"note", "hello"}});
      CHECK(snapshot(dst) == snapshot(src));
      CHECK(std::signbit(dst.inner->weight.to_vector<double>()[0]));
    }
    // CBOR really is CBOR (a map), JSON really is text.
    CHECK(read_bytes(dir / "a.cbor").at(0) >= 0xa0);
    CHECK(read_bytes(dir / "a.json").at(0) == '{');
  }
}

TEST_CASE("inf and NaN are refused unless allowed, then come back bit-exact") {
  TempDir dir;
  Tiny src;
  {
    NoGradGuard g;
    float* w = src.inner->weight.mutable_data<float>();
    w[0] = std::numeric_limits<float>::infinity();
    w[1] = -std::numeric_limits<float>::infinity();
    uint32_t payload = 0x7fc01234;  // a NaN with a payload
    std::memcpy(&w[2], &payload, 4);
  }
  for (const char* name : {"n.json", "n.cbor"}) {
    save(dir / name, src);
    Tiny dst;
    const auto before = snapshot(dst);
    CHECK_ERROR_CONTAINS(
        load(dir / name, dst), "params.inner.weight", "3 non-finite value(s)",
        "flat index 0", "allow_nonfinite");
    CHECK(snapshot(dst) == before);
    load(dir / name, dst, nullptr, LoadOptions{.allow_nonfinite = true});
    CHECK(snapshot(dst) == snapshot(src));
  }
}

TEST_CASE(
    "optimizer state and metadata round trip, and training resumes exactly") {
  TempDir dir;
  for (const char* name : {"run.json", "run.cbor"}) {
    CAPTURE(name);
    Trained a;
    optim::StepLR sched(a.opt, 2, 0.5);
    sched.step();
    const json meta = {
        {"epoch", 7},
        {"loss", 0.125},
        {"tags", {"x", "y"}},
        {"scheduler", sched.state_dict()}};
    save(dir / name, a.model, &a.opt, meta);

    Tiny model2;
    optim::Adam opt2(
        model2.parameters(), optim::AdamOptions(0.5).amsgrad(true));
    optim::StepLR sched2(opt2, 2, 0.5);
    const json got = load(dir / name, model2, &opt2);
    CHECK(got == meta);
    sched2.load_state_dict(got["scheduler"]);
    CHECK(sched2.last_epoch() == 1);
    CHECK(opt2.lr() == a.opt.lr());
    REQUIRE(opt2.state(model2.bias) != nullptr);
    CHECK(opt2.state(model2.bias)->step == 2);
    CHECK(opt2.state(model2.bias)->buffers.size() == 3);
    for (int k = 0; k < 3; ++k) {
      a.opt.zero_grad();
      a.model.forward(ones({4, 3})).backward();
      a.opt.step();
      sched.step();
      opt2.zero_grad();
      model2.forward(ones({4, 3})).backward();
      opt2.step();
      sched2.step();
    }
    CHECK(snapshot(model2) == snapshot(a.model));
    CHECK(sched2.get_last_lr() == sched.get_last_lr());
  }
}

TEST_CASE("the JSON and CBOR forms carry the same checksum") {
  TempDir dir;
  Trained a;
  save(dir / "c.json", a.model, &a.opt, {{"k", 1.5}});
  save(dir / "c.cbor", a.model, &a.opt, {{"k", 1.5}});
  const json j = json::parse(read_bytes(dir / "c.json"));
  const json c = json::from_cbor(read_bytes(dir / "c.cbor"));
  CHECK(j == c);
  CHECK(j["checksum"].get<std::string>().rfind("fnv1a64:", 0) == 0);
  CHECK(j["checksum"].get<std::string>().size() == 8 + 16);
  CHECK(detail::checkpoint_checksum(j) == j["checksum"]);
  // The checksum is of the compact dump without the checksum key.
  json stripped = j;
  stripped.erase("checksum");
  CHECK(detail::checkpoint_checksum(stripped) == j["checksum"]);
}

TEST_CASE("load reports every problem at once and changes nothing") {
  Trained a;
  json doc = detail::checkpoint_document(a.model, &a.opt, {});
  doc["format"] = "something-else";
  doc["version"] = 2;
  doc["extra"] = true;
  doc["params"].erase("bias");
  doc["params"]["ghost"] = doc["params"]["inner.weight"];
  doc["params"]["inner.weight"]["shape"] = {3, 2};
  doc["buffers"]["inner.running"]["dtype"] = "f64";
  doc["optimizer"]["param_groups"][0]["eps"] = -1;
  doc["optimizer"]["state"]["bias"].erase("exp_avg");
  doc["metadata"] = json::array();
  Tiny fresh;
  optim::Adam opt(fresh.parameters(), optim::AdamOptions(0.5).amsgrad(true));
  const auto before = snapshot(fresh);
  for (bool cbor : {false, true}) {
    const std::string msg = load_error(serialise(doc, cbor), cbor, fresh, &opt);
    for (const char* part :
         {"load('mem')", "problem(s), nothing was changed",
          "format is \"something-else\"", "version 2 is not supported",
          "unexpected top-level key 'extra'", "params: missing 'bias'",
          "params: unexpected 'ghost'",
          "params.inner.weight: f32 [3, 2] does not match the model's f32 "
          "[2, 3]",
          "buffers.inner.running: f64 [3] does not match the model's f32 [3]",
          "eps must be >= 0 and finite (got -1)",
          "state['bias']: missing buffer 'exp_avg'",
          "metadata must be an object"})
      CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
    CHECK(snapshot(fresh) == before);
    CHECK(opt.lr() == 0.5);
    CHECK(opt.state(fresh.bias) == nullptr);
  }
}

TEST_CASE("a checkpoint edited without fixing the checksum is refused") {
  Trained a;
  json doc = detail::checkpoint_document(a.model, nullptr, {{"epoch", 1}});
  doc["checksum"] = detail::checkpoint_checksum(doc);
  doc["metadata"]["epoch"] = 2;
  Tiny fresh;
  CHECK_ERROR_CONTAINS(
      detail::load_from_bytes(
          as_bytes(doc.dump()), false, "edited.json", fresh, nullptr, {}),
      "load('edited.json')", "checksum mismatch", "corrupt or was edited");
  doc["checksum"] = 12;
  CHECK_ERROR_CONTAINS(
      detail::load_from_bytes(
          as_bytes(doc.dump()), false, "x", fresh, nullptr, {}),
      "checksum must be a string");
}

TEST_CASE("non-strict load skips missing and unexpected names and lists them") {
  Tiny src;
  json doc = detail::checkpoint_document(src, nullptr, {});
  doc["params"].erase("bias");
  doc["buffers"]["stale"] = doc["buffers"]["inner.running"];
  Tiny dst;
  {
    NoGradGuard g;
    dst.inner->weight.fill_(9);
    dst.bias.fill_(9);
  }
  nn::LoadResult r;
  detail::load_from_bytes(
      serialise(doc, false), false, "m", dst, nullptr,
      {.strict = false, .result = &r});
  CHECK(r.missing_keys == std::vector<std::string>{"bias"});
  CHECK(r.unexpected_keys == std::vector<std::string>{"stale"});
  CHECK(test::bit_equal(dst.inner->weight, src.inner->weight));
  CHECK(dst.bias.to_vector<float>()[0] == 9.0f);  // untouched
}

TEST_CASE("an optimizer passed to load needs optimizer state in the file") {
  TempDir dir;
  Tiny src;
  save(dir / "m.json", src);
  Tiny dst;
  optim::SGD opt(dst.parameters(), optim::SGDOptions(0.1));
  CHECK_ERROR_CONTAINS(
      load(dir / "m.json", dst, &opt), "holds no optimizer state");
  // The reverse is fine: weights only.
  Trained a;
  save(dir / "t.json", a.model, &a.opt);
  load(dir / "t.json", dst);
  CHECK(snapshot(dst) == snapshot(a.model));
  // An optimizer of another type is a mismatch, named.
  optim::SGD other(dst.parameters(), optim::SGDOptions(0.1));
  CHECK_ERROR_CONTAINS(
      load(dir / "t.json", dst, &other),
      "optimizer type is 'Adam', but this optimizer is 'SGD'");
}

TEST_CASE(
    "hostile files give a clear error, never a crash or a huge allocation") {
  Tiny m;
  const auto before = snapshot(m);
  auto err = [&](const std::vector<uint8_t>& b, bool cbor) {
    return load_error(b, cbor, m);
  };
  // Empty, garbage, wrong syntax: named with the byte offset.
  CHECK(err({}, false).find("the file is empty") != std::string::npos);
  CHECK(
      err(as_bytes("{\"a\": tru}"), false).find("at byte") !=
      std::string::npos);
  CHECK(
      err(as_bytes("\xff\xfe garbage"), false).find("not a valid JSON") !=
      std::string::npos);
  CHECK(
      err(as_bytes("[1, 2]"), false).find("must be an object") !=
      std::string::npos);
  // Deep nesting (the JSON parser is iterative, the CBOR one recursive).
  CHECK(
      err(as_bytes(std::string(200000, '[')), false).find("nesting deeper") !=
      std::string::npos);
  CHECK(
      err(std::vector<uint8_t>(200000, 0x81), true).find("nesting deeper") !=
      std::string::npos);
  // CBOR with absurd declared lengths but no data behind them.
  CHECK_FALSE(err({0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true)
                  .empty());
  CHECK_FALSE(
      err({0x7b, 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x61}, true)
          .empty());
  CHECK_FALSE(err({0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x60}, true).empty());
  CHECK_FALSE(err({0xc6, 0x01}, true).empty());  // a tag
  CHECK(err({0x42, 1, 2}, true).find("byte string") != std::string::npos);
  CHECK(
      err({0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, true).find("non-finite") !=
      std::string::npos);
  // Duplicate keys.
  CHECK(
      err(as_bytes("{\"a\":1,\"a\":2}"), false).find("duplicate key 'a'") !=
      std::string::npos);
  // A valid document declaring an enormous tensor with little data.
  json doc = detail::checkpoint_document(m, nullptr, {});
  doc["params"]["bias"]["shape"] = {1ULL << 40, 1ULL << 40};
  CHECK(
      err(serialise(doc, false), false).find("product below 2^56") !=
      std::string::npos);
  doc["params"]["bias"]["shape"] = {1 << 20, 1 << 20, 1 << 10};
  doc["params"].erase("inner.weight");
  doc["params"]["inner.weight"] = doc["params"]["bias"];
  const std::string big = err(serialise(doc, true), true);
  CHECK(big.find("does not match the model's") != std::string::npos);
  // Bad tensor pieces, all reported.
  json t = detail::checkpoint_document(m, nullptr, {});
  t["params"]["bias"]["data"] = "!!!!";
  t["params"]["inner.weight"] = {{"shape", {2, 3}}, {"dtype", "f16"}};
  t["buffers"]["inner.running"]["data"] = "AAAA";
  const std::string msg = err(serialise(t, false), false);
  for (const char* part :
       {"params.bias: data has 4 base64 characters, but f32 [1, 2, 1, 1, 1] "
        "needs 12 (8 bytes)",
        "params.inner.weight: dtype must be \"f32\", \"f64\" or \"i64\" (got "
        "\"f16\")",
        "params.inner.weight: data must be a base64 string (got nothing)",
        "buffers.inner.running: data has 4 base64 characters"})
    CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
  t = detail::checkpoint_document(m, nullptr, {});
  std::string d = t["params"]["bias"]["data"];
  d[0] = '*';
  t["params"]["bias"]["data"] = d;
  CHECK(
      err(serialise(t, false), false).find("not valid base64") !=
      std::string::npos);
  CHECK(snapshot(m) == before);
}

TEST_CASE("files that cannot be read are named with the reason") {
  TempDir dir;
  Tiny m;
  CHECK_ERROR_CONTAINS(
      load(dir / "missing.json", m), "missing.json", "No such file");
  CHECK_ERROR_CONTAINS(load(dir.path.string(), m), "not a regular file");
  CHECK_ERROR_CONTAINS(load("/dev/zero", m), "not a regular file");
  const std::string fifo = dir / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_ERROR_CONTAINS(load(fifo, m), "not a regular file");  // no hang
  write_bytes(dir / "wrong.cbor", as_bytes("{\"a\": 1}"));
  CHECK_ERROR_CONTAINS(load(dir / "wrong.cbor", m), "not a valid CBOR");
}

TEST_CASE("save refuses what would not round-trip, and bad paths") {
  TempDir dir;
  Tiny m;
  CHECK_ERROR_CONTAINS(
      save(dir / "x.json", m, nullptr, {{"loss", NAN}}), "metadata.loss",
      "no inf or NaN");
  CHECK_ERROR_CONTAINS(
      save(dir / "x.json", m, nullptr, {{"b", json::binary({1, 2})}}),
      "metadata.b", "binary");
  CHECK_ERROR_CONTAINS(
      save(dir / "x.json", m, nullptr, json::array()), "must be a JSON object");
  CHECK_ERROR_CONTAINS(
      save(dir / "x.json", m, nullptr, {{"s", "\xff"}}), "save", "UTF-8");
  CHECK_ERROR_CONTAINS(
      save(dir / "no/such/dir/x.json", m), "cannot create a temporary file",
      "no/such/dir/x.json", "No such file or directory");
  CHECK_FALSE(fs::exists(dir / "x.json"));
  // An optimizer over other tensors than the model's cannot be named.
  Tiny other;
  optim::SGD opt(other.parameters(), optim::SGDOptions(0.1));
  CHECK_ERROR_CONTAINS(
      save(dir / "x.json", m, &opt), "not among the named parameters");
  // Nothing is left behind by failed saves.
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("base64 is strict: canonical padding and alphabet only") {
  std::vector<uint8_t> out;
  for (size_t n = 0; n < 8; ++n) {
    std::vector<uint8_t> b;
    for (size_t i = 0; i < n; ++i)
      b.push_back(static_cast<uint8_t>(37 * i + 200));
    const std::string s = detail::base64_encode(b);
    CHECK(s.size() == (n + 2) / 3 * 4);
    REQUIRE(detail::base64_decode(s, out));
    CHECK(out == b);
  }
  CHECK(detail::base64_encode(as_bytes("foobar")) == "Zm9vYmFy");
  CHECK(detail::base64_encode(as_bytes("fo")) == "Zm8=");
  for (const char* bad :
       {"Zm8", "Zm9=", "Zg=A", "Z===", "Zm 8", "Zh==", "===="})
    CHECK_MESSAGE(!detail::base64_decode(bad, out), bad);
}

TEST_CASE("a checkpoint truncated at every byte offset is refused") {
  Trained a;
  for (bool cbor : {false, true}) {
    CAPTURE(cbor);
    const json doc =
        detail::checkpoint_document(a.model, &a.opt, {{"epoch", 3}});
    const std::vector<uint8_t> full = serialise(doc, cbor);
    Tiny m;
    optim::Adam opt(m.parameters(), optim::AdamOptions(0.5).amsgrad(true));
    const auto before = snapshot(m);
    int errors = 0;
    for (size_t n = 0; n < full.size(); ++n) {
      const std::vector<uint8_t> cut(
          full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      errors += !load_error(cut, cbor, m, &opt).empty();
    }
    CHECK(errors == static_cast<int>(full.size()));
    CHECK(snapshot(m) == before);
    CHECK(opt.state(m.bias) == nullptr);
    MESSAGE(
        (cbor ? "CBOR" : "JSON")
        << ": " << full.size() << " truncations, all refused");
    // The whole file loads.
    CHECK(load_error(full, cbor, m, &opt).empty());
    CHECK(snapshot(m) == snapshot(a.model));
  }
}

TEST_CASE("seeded random byte flips never change weights silently") {
  Trained a;
  for (bool cbor : {false, true}) {
    CAPTURE(cbor);
    const std::vector<uint8_t> full = serialise(
        detail::checkpoint_document(a.model, &a.opt, {{"epoch", 3}}), cbor);
    std::mt19937_64 rng(cbor ? 1234 : 5678);
    int refused = 0, accepted = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<uint8_t> bad = full;
      const size_t at = rng() % bad.size();
      bad[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      Tiny m;
      optim::Adam opt(m.parameters(), optim::AdamOptions(0.5).amsgrad(true));
      const auto before = snapshot(m);
      const std::string e = load_error(bad, cbor, m, &opt);
      if (!e.empty()) {
        ++refused;
        CHECK(snapshot(m) == before);
      } else {
        // Only possible if the flip kept the document's value (e.g. the
        // spelling of a number): then the weights must be the saved ones.
        ++accepted;
        CHECK(snapshot(m) == snapshot(a.model));
      }
    }
    MESSAGE(
        (cbor ? "CBOR" : "JSON") << ": 300 flips, " << refused << " refused, "
                                 << accepted << " loaded the saved weights");
  }
}

namespace {
int g_pipe_fd = -1;
void signal_then_wait(const std::string&, size_t, size_t) {
  // Mid-write: the temp file holds a first chunk, the target is untouched.
  const char c = 'w';
  (void)!::write(g_pipe_fd, &c, 1);
  for (;;)
    ::pause();
}
}  // namespace

TEST_CASE("a save killed mid-write leaves the previous checkpoint loadable") {
  TempDir dir;
  const std::string path = dir / "big.json";
  Big old_model(100000, 1.5), new_model(100000, -2.0);
  save(path, old_model, nullptr, {{"which", "old"}});
  const std::vector<uint8_t> old_bytes = read_bytes(path);

  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    g_pipe_fd = fds[1];
    detail::set_checkpoint_write_hook(&signal_then_wait);
    try {
      save(path, new_model, nullptr, {{"which", "new"}});
    } catch (...) {
    }
    ::_exit(3);  // not reached: the hook never returns
  }
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  const int ready = ::poll(&p, 1, 30000);
  char c = 0;
  const bool signalled = ready == 1 && ::read(fds[0], &c, 1) == 1;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  REQUIRE(signalled);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // A partial temp file is there; the checkpoint is byte-for-byte the old one.
  int temps = 0;
  for (const auto& e : fs::directory_iterator(dir.path))
    if (e.path().filename().string().rfind(".big.json.tmp-", 0) == 0) {
      ++temps;
      CHECK(fs::file_size(e.path()) < old_bytes.size());
    }
  CHECK(temps == 1);
  CHECK(read_bytes(path) == old_bytes);
  Big loaded(100000, 0.0);
  CHECK(load(path, loaded) == json{{"which", "old"}});
  CHECK(snapshot(loaded) == snapshot(old_model));
  // The stale temp file does not get in the way of the next save.
  save(path, new_model, nullptr, {{"which", "new"}});
  CHECK(load(path, loaded) == json{{"which", "new"}});
  CHECK(snapshot(loaded) == snapshot(new_model));
}

TEST_CASE("saves killed at random moments always leave one whole checkpoint") {
  TempDir dir;
  const std::string path = dir / "loop.cbor";
  Big a(50000, 0.5), b(50000, 0.75);
  save(path, a, nullptr, {{"which", "a"}});
  std::mt19937 rng(42);
  int saw_a = 0, saw_b = 0;
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        for (int i = 0;; ++i)
          save(path, i % 2 ? a : b, nullptr, {{"which", i % 2 ? "a" : "b"}});
      } catch (...) {
      }
      ::_exit(3);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 40));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    Big loaded(50000, 0.0);
    const json meta = load(path, loaded);
    const bool is_a = meta == json{{"which", "a"}};
    CHECK(snapshot(loaded) == snapshot(is_a ? a : b));
    (is_a ? saw_a : saw_b)++;
  }
  MESSAGE(
      "killed 6 saving loops: found a " << saw_a << "x, b " << saw_b << "x");
}

}  // namespace voxgrad
