// voxgrad-conformance DIR...: runs every conformance case folder (one with a
// case.json) under the given folders, per SPEC §2. Each case runs in a child
// process, so a crash or a hang fails that case instead of the run.
//
//   build/bin/voxgrad-conformance tests/conformance
//   PASS conv3d/conv_mb1ic1oc1_id1ih1iw1_k1_s1_p0_dil1_g1_nobias 0.00e+00
//   ...
//   409 passed, 0 failed

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <voxgrad/voxgrad.hpp>
#include "voxgrad/core/npy.hpp"
#include "voxgrad/nn/conv.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace voxgrad;

namespace {

struct Outcome {
  bool pass = false;
  std::string detail;  // max error on PASS, the reason on FAIL
};

/// nlohmann's message without its "[json.exception.<kind>.<id>] " prefix.
std::string json_reason(const json::exception& e) {
  const std::string w = e.what();
  const size_t close = w.rfind(
      "] ", w.find(' ') == std::string::npos ? std::string::npos : w.find(' '));
  return w.rfind("[json.exception.", 0) == 0 && close != std::string::npos
             ? w.substr(close + 2)
             : w;
}

/// A value of case.json for a message (shortened).
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

/// case.json's fields, each read strictly (SPEC §2): a value of the wrong
/// type (2.5 or true where an integer is expected, a string where a number
/// is) is an error of the case naming the key and the value, never rounded
/// or converted.
class CaseFields {
 public:
  explicit CaseFields(const json& c) : c_(c) {
    VOXGRAD_CHECK(
        c.is_object(), "case.json: must hold a JSON object (got ",
        c.type_name(), ")");
  }
  bool has(const char* key) const {
    return c_.contains(key);
  }
  const json& at(const char* key) const {
    VOXGRAD_CHECK(c_.contains(key), "case.json: missing \"", key, "\"");
    return c_.at(key);
  }
  static bool is_int(const json& v) {
    return v.is_number_integer() &&
           (!v.is_number_unsigned() ||
            v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
  }
  int64_t integer(const char* key) const {
    const json& v = at(key);
    VOXGRAD_CHECK(
        is_int(v), "case.json: \"", key, "\" must be an integer (got ",
        shown(v), ")");
    return v.get<int64_t>();
  }
  /// An int, or a list of 1 or 3 ints (one per spatial axis).
  Int3 triple(const char* key) const {
    const json& v = at(key);
    if (is_int(v))
      return Int3(v.get<int64_t>());
    VOXGRAD_CHECK(
        v.is_array() && (v.size() == 1 || v.size() == 3), "case.json: \"", key,
        "\" must be an int or a list of 1 or 3 ints (got ", shown(v), ")");
    for (size_t i = 0; i < v.size(); ++i)
      VOXGRAD_CHECK(
          is_int(v[i]), "case.json: \"", key, "\"[", i,
          "] must be an integer (got ", shown(v[i]), " in ", shown(v), ")");
    if (v.size() == 1)
      return Int3(v[0].get<int64_t>());
    return Int3(v[0].get<int64_t>(), v[1].get<int64_t>(), v[2].get<int64_t>());
  }
  std::vector<int64_t> ints(const char* key) const {
    const json& v = at(key);
    VOXGRAD_CHECK(
        v.is_array(), "case.json: \"", key,
        "\" must be a list of integers (got ", shown(v), ")");
    std::vector<int64_t> out;
    for (size_t i = 0; i < v.size(); ++i) {
      VOXGRAD_CHECK(
          is_int(v[i]), "case.json: \"", key, "\"[", i,
          "] must be an integer (got ", shown(v[i]), " in ", shown(v), ")");
      out.push_back(v[i].get<int64_t>());
    }
    return out;
  }
  bool boolean(const char* key) const {
    const json& v = at(key);
    VOXGRAD_CHECK(
        v.is_boolean(), "case.json: \"", key, "\" must be true or false (got ",
        shown(v), ")");
    return v.get<bool>();
  }
  bool boolean_or(const char* key, bool fallback) const {
    return has(key) ? boolean(key) : fallback;
  }
  /// A finite number >= 0 (a tolerance).
  double tolerance(const char* key) const {
    const json& v = at(key);
    VOXGRAD_CHECK(
        v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0,
        "case.json: \"", key, "\" must be a finite number >= 0 (got ", shown(v),
        ")");
    return v.get<double>();
  }
  std::string string(const char* key) const {
    const json& v = at(key);
    VOXGRAD_CHECK(
        v.is_string(), "case.json: \"", key, "\" must be a string (got ",
        shown(v), ")");
    return v.get<std::string>();
  }
  /// One of `allowed`, or `fallback` when absent.
  std::string choice(
      const char* key,
      const std::vector<std::string>& allowed,
      const std::string& fallback) const {
    if (!has(key))
      return fallback;
    const json& v = at(key);
    for (const auto& a : allowed)
      if (v.is_string() && v.get<std::string>() == a)
        return a;
    std::string list;
    for (const auto& a : allowed)
      list += (list.empty() ? "\"" : ", \"") + a + "\"";
    VOXGRAD_FAIL(
        "case.json: \"", key, "\" must be one of ", list, " (got ", shown(v),
        ")");
  }

 private:
  const json& c_;
};

/// The op a case describes, built through the modules (so construction-time
/// validation is exercised exactly as a user meets it).
struct Op {
  std::shared_ptr<nn::Conv3dImpl> conv;
  std::shared_ptr<nn::ConvTranspose3dImpl> convt;
  std::vector<int64_t> output_size;

  static Op build(const CaseFields& c) {
    Op op;
    const std::string kind =
        c.choice("op", {"conv3d", "conv_transpose3d"}, "(missing)");
    VOXGRAD_CHECK(
        kind != "(missing)", "case.json: missing \"op\" (conv3d or ",
        "conv_transpose3d)");
    const int64_t in = c.integer("in_channels");
    const int64_t out = c.integer("out_channels");
    const int64_t groups = c.integer("groups");
    const bool bias = c.boolean("bias");
    c.boolean_or("batched", true);  // informational, but typed
    const Int3 k = c.triple("kernel_size");
    const Int3 output_padding = c.triple("output_padding");
    if (kind == "conv3d") {
      // SPEC §2: a conv3d case with output_padding is an error of the case,
      // never silently run as if it were 0.
      VOXGRAD_CHECK(
          output_padding == Int3(0), "case.json: \"output_padding\" is ",
          shown(c.at("output_padding")),
          ", but a conv3d case must have output_padding 0 (it belongs to ",
          "conv_transpose3d)");
      VOXGRAD_CHECK(
          !c.has("output_size"), "case.json: \"output_size\" is ",
          shown(c.at("output_size")),
          ", but only conv_transpose3d cases take one");
      nn::Conv3dOptions o(in, out, k);
      o.stride(c.triple("stride")).dilation(c.triple("dilation"));
      o.groups(groups).bias(bias);
      if (c.at("padding").is_string()) {
        o.padding(Conv3dPadding(c.choice("padding", {"same", "valid"}, "")));
      } else {
        o.padding(c.triple("padding"));
      }
      op.conv = std::make_shared<nn::Conv3dImpl>(o);
    } else {
      VOXGRAD_CHECK(
          !c.at("padding").is_string(), "case.json: conv_transpose3d: ",
          "\"padding\" must be an int or a triple (\"same\"/\"valid\" are ",
          "Conv3d only), got ", shown(c.at("padding")));
      nn::ConvTranspose3dOptions o(in, out, k);
      o.stride(c.triple("stride")).padding(c.triple("padding"));
      o.output_padding(output_padding).dilation(c.triple("dilation"));
      o.groups(groups).bias(bias);
      op.convt = std::make_shared<nn::ConvTranspose3dImpl>(o);
      if (c.has("output_size"))
        op.output_size = c.ints("output_size");
    }
    return op;
  }
  nn::Module& module() {
    return conv ? static_cast<nn::Module&>(*conv) : *convt;
  }
  Tensor weight() const {
    return conv ? conv->weight() : convt->weight();
  }
  Tensor bias() const {
    return conv ? conv->bias() : convt->bias();
  }
  void set(const Tensor& w, const Tensor& b) {
    if (conv) {
      conv->set_weight(w);
      if (b.defined())
        conv->set_bias(b);
    } else {
      convt->set_weight(w);
      if (b.defined())
        convt->set_bias(b);
    }
  }
  Tensor forward(const Tensor& x) {
    if (conv)
      return conv->forward(x);
    return output_size.empty() ? convt->forward(x)
                               : convt->forward(x, output_size);
  }
};

Outcome run_error_case(const CaseFields& c) {
  try {
    Op op = Op::build(c);
    const Dtype dt =
        c.choice("x_dtype", {"float32", "float64"}, "float32") == "float64"
            ? kFloat64
            : kFloat32;
    const Tensor x = zeros(c.ints("x_shape"), dt).requires_grad_();
    const Tensor w = zeros(c.ints("weight_shape"));
    const Tensor b =
        c.has("bias_shape") ? zeros(c.ints("bias_shape")) : Tensor();
    op.set(w, b);
    const Tensor y = op.forward(x);
    return {
        false, "expected an error, but the op ran and returned " +
                   shape_str(y.shape())};
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    if (msg.empty())
      return {false, "an exception with an empty message"};
    return {true, msg};
  }
}

/// max |got - want|, or a failure reason when some element is out of tolerance.
bool compare(
    const char* name,
    const Tensor& got,
    const Tensor& want,
    double atol,
    double rtol,
    double& max_err,
    std::string& why) {
  if (!got.defined() || got.shape() != want.shape()) {
    why = detail::concat(
        name, " has shape ", got.defined() ? shape_str(got.shape()) : "none",
        ", expected ", shape_str(want.shape()));
    return false;
  }
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - w[i]);
    if (!(err <= atol + rtol * std::abs(w[i]))) {
      why = detail::concat(
          name, "[", i, "] = ", g[i], ", expected ", w[i], " (|diff| ", err,
          " > atol ", atol, " + rtol ", rtol, " * |expected|)");
      return false;
    }
    max_err = std::max(max_err, err);
  }
  return true;
}

Outcome run_value_case(const CaseFields& c, const fs::path& dir) {
  auto npy = [&](const char* f) { return load_npy((dir / f).string()); };
  Op op = Op::build(c);
  const bool has_bias = c.boolean("bias");
  const double atol = c.tolerance("atol"), rtol = c.tolerance("rtol");
  op.set(npy("weight.npy"), has_bias ? npy("bias.npy") : Tensor());
  const Tensor x = npy("x.npy").requires_grad_();
  const Tensor y = op.forward(x);
  const Tensor gy = npy("gy.npy");
  VOXGRAD_CHECK(
      gy.shape() == y.shape(), "gy.npy has shape ", shape_str(gy.shape()),
      " but the op returned ", shape_str(y.shape()));
  y.backward(gy);
  double max_err = 0;
  std::string why;
  const bool ok =
      compare("y", y, npy("y.npy"), atol, rtol, max_err, why) &&
      compare("gx", x.grad(), npy("gx.npy"), atol, rtol, max_err, why) &&
      compare(
          "gweight", op.weight().grad(), npy("gweight.npy"), atol, rtol,
          max_err, why) &&
      (!has_bias || compare(
                        "gbias", op.bias().grad(), npy("gbias.npy"), atol, rtol,
                        max_err, why));
  if (!ok)
    return {false, why};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", max_err);
  return {true, buf};
}

Outcome run_case(const fs::path& dir) {
  try {
    json c;
    try {
      // A regular file of sane size: a FIFO would block, a huge file would
      // exhaust memory (a case.json is a few hundred bytes).
      std::error_code ec;
      const fs::path file = dir / "case.json";
      VOXGRAD_CHECK(
          fs::is_regular_file(file, ec), "case.json: not a regular file");
      const auto size = fs::file_size(file, ec);
      VOXGRAD_CHECK(
          !ec && size <= (1u << 20), "case.json: ", size,
          " bytes, more than the 1 MiB a case description may have");
      std::ifstream in(file, std::ios::binary);
      VOXGRAD_CHECK(in.good(), "case.json: cannot open it");
      c = json::parse(in);
    } catch (const json::exception& e) {
      VOXGRAD_FAIL("case.json: not valid JSON: ", json_reason(e));
    }
    const CaseFields fields(c);
    if (fields.boolean_or("expect_error", false))
      return run_error_case(fields);
    return run_value_case(fields, dir);
  } catch (const json::exception& e) {
    // Every field is read through CaseFields; this is a last guard.
    return {false, std::string("error: case.json: ") + json_reason(e)};
  } catch (const std::exception& e) {
    return {false, std::string("error: ") + e.what()};
  }
}

/// Runs one case in a child; a signal or a timeout fails the case.
Outcome run_isolated(const fs::path& dir, int timeout_s) {
  int fd[2];
  if (pipe(fd) != 0)
    return {false, "pipe() failed"};
  const pid_t pid = fork();
  if (pid < 0)
    return {false, "fork() failed"};
  if (pid == 0) {
    close(fd[0]);
    const Outcome o = run_case(dir);
    std::string msg = std::string(o.pass ? "1" : "0") + o.detail;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    ssize_t off = 0;
    while (off < static_cast<ssize_t>(msg.size())) {
      const ssize_t n =
          write(fd[1], msg.data() + off, msg.size() - static_cast<size_t>(off));
      if (n <= 0)
        break;
      off += n;
    }
    _exit(0);
  }
  close(fd[1]);
  std::string msg;
  char buf[4096];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fd[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000))) <= 0)
      continue;
    const ssize_t n = read(fd[0], buf, sizeof buf);
    if (n <= 0)
      break;
    msg.append(buf, static_cast<size_t>(n));
  }
  close(fd[0]);
  if (timed_out)
    kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out)
    return {false, detail::concat("hang: no result after ", timeout_s, " s")};
  if (WIFSIGNALED(status))
    return {
        false, detail::concat(
                   "crash: killed by signal ", WTERMSIG(status), " (",
                   strsignal(WTERMSIG(status)), ")")};
  if (msg.empty())
    return {false, "the case process exited without a result"};
  return {msg[0] == '1', msg.substr(1)};
}

}  // namespace

/// The value of a numeric flag: a whole number of seconds in [min, max],
/// anything else ("abc", "1.5", "10s", "", out of range) is refused.
bool parse_seconds(const std::string& text, int min, int max, int& out) {
  if (text.empty() || text.size() > 9)
    return false;
  int v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9')
      return false;
    v = v * 10 + (ch - '0');
  }
  if (v < min || v > max)
    return false;
  out = v;
  return true;
}

int main(int argc, char** argv) {
  std::vector<fs::path> roots;
  int timeout_s = 120;
  constexpr int kMaxTimeout = 86400;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--timeout" || a.rfind("--timeout=", 0) == 0) {
      const bool inline_value = a.size() > 9 && a[9] == '=';
      if (!inline_value && i + 1 >= argc) {
        std::cerr
            << "voxgrad-conformance: --timeout: missing value (seconds)\n";
        return 2;
      }
      const std::string v = inline_value ? a.substr(10) : argv[++i];
      if (!parse_seconds(v, 1, kMaxTimeout, timeout_s)) {
        std::cerr << "voxgrad-conformance: --timeout: expected a whole number "
                     "of seconds in [1, "
                  << kMaxTimeout << "], got '" << v << "'\n";
        return 2;
      }
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: voxgrad-conformance [--timeout SECONDS] DIR...\n"
                   "Runs every case folder (holding case.json) under each DIR "
                   "(SPEC §2).\n"
                   "  --timeout SECONDS  per case, a whole number in [1, "
                << kMaxTimeout << "] (default 120)\n";
      return 0;
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      std::cerr << "voxgrad-conformance: unknown flag '" << a
                << "' (see --help)\n";
      return 2;
    } else {
      roots.emplace_back(a);
    }
  }
  if (roots.empty()) {
    std::cerr
        << "voxgrad-conformance: give at least one case folder (see --help)\n";
    return 2;
  }
  std::vector<std::pair<fs::path, fs::path>> cases;  // (root, case dir)
  for (const fs::path& root : roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
      std::cerr << "voxgrad-conformance: '" << root.string()
                << "' is not a folder\n";
      return 2;
    }
    if (fs::exists(root / "case.json", ec))
      cases.emplace_back(root.parent_path(), root);
    // error_code overloads throughout: an unreadable subfolder is skipped,
    // it must not end the run with an uncaught filesystem_error.
    fs::recursive_directory_iterator it(
        root, fs::directory_options::skip_permission_denied, ec),
        end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (it->is_directory(e2) && fs::exists(it->path() / "case.json", e2))
        cases.emplace_back(root, it->path());
    }
    if (ec) {
      std::cerr << "voxgrad-conformance: cannot list '" << root.string()
                << "': " << ec.message() << "\n";
      return 2;
    }
  }
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) {
    std::cerr << "voxgrad-conformance: no case folder (with a case.json) under "
                 "the given folders\n";
    return 2;
  }
  int passed = 0, failed = 0;
  for (const auto& [root, dir] : cases) {
    const Outcome o = run_isolated(dir, timeout_s);
    const std::string name = fs::relative(dir, root).string();
    std::cout << (o.pass ? "PASS " : "FAIL ") << name << " " << o.detail
              << std::endl;
    (o.pass ? passed : failed) += 1;
  }
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  return failed == 0 && passed > 0 ? 0 : 1;
}
