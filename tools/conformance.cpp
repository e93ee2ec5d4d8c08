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

Int3 triple(const json& j, const char* key) {
  VOXGRAD_CHECK(j.contains(key), "case.json: missing \"", key, "\"");
  const json& v = j.at(key);
  if (v.is_number_integer())
    return Int3(v.get<int64_t>());
  VOXGRAD_CHECK(
      v.is_array() && (v.size() == 1 || v.size() == 3), "case.json: \"", key,
      "\" must be an int or a list of 1 or 3 ints (got ", v.dump(), ")");
  if (v.size() == 1)
    return Int3(v[0].get<int64_t>());
  return Int3(v[0].get<int64_t>(), v[1].get<int64_t>(), v[2].get<int64_t>());
}

Shape shape_of(const json& j, const char* key) {
  VOXGRAD_CHECK(
      j.contains(key) && j.at(key).is_array(), "case.json: \"", key,
      "\" must be a list of ints");
  return j.at(key).get<Shape>();
}

/// The op a case describes, built through the modules (so construction-time
/// validation is exercised exactly as a user meets it).
struct Op {
  std::shared_ptr<nn::Conv3dImpl> conv;
  std::shared_ptr<nn::ConvTranspose3dImpl> convt;
  std::vector<int64_t> output_size;

  static Op build(const json& c) {
    Op op;
    const std::string kind = c.at("op").get<std::string>();
    const auto in = c.at("in_channels").get<int64_t>();
    const auto out = c.at("out_channels").get<int64_t>();
    const Int3 k = triple(c, "kernel_size");
    if (kind == "conv3d") {
      nn::Conv3dOptions o(in, out, k);
      o.stride(triple(c, "stride")).dilation(triple(c, "dilation"));
      o.groups(c.at("groups").get<int64_t>()).bias(c.at("bias").get<bool>());
      const json& p = c.at("padding");
      if (p.is_string()) {
        o.padding(Conv3dPadding(p.get<std::string>()));
      } else {
        o.padding(triple(c, "padding"));
      }
      op.conv = std::make_shared<nn::Conv3dImpl>(o);
    } else if (kind == "conv_transpose3d") {
      VOXGRAD_CHECK(
          !c.at("padding").is_string(), "conv_transpose3d: padding must be ",
          "an int or a triple (\"same\"/\"valid\" are Conv3d only), got ",
          c.at("padding").dump());
      nn::ConvTranspose3dOptions o(in, out, k);
      o.stride(triple(c, "stride")).padding(triple(c, "padding"));
      o.output_padding(triple(c, "output_padding"))
          .dilation(triple(c, "dilation"));
      o.groups(c.at("groups").get<int64_t>()).bias(c.at("bias").get<bool>());
      op.convt = std::make_shared<nn::ConvTranspose3dImpl>(o);
      if (c.contains("output_size"))
        op.output_size = c.at("output_size").get<std::vector<int64_t>>();
    } else {
      VOXGRAD_FAIL(
          "case.json: unknown op \"", kind,
          "\" (expected conv3d or conv_transpose3d)");
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

Outcome run_error_case(const json& c) {
  try {
    Op op = Op::build(c);
    const Dtype dt = c.value("x_dtype", std::string("float32")) == "float64"
                         ? kFloat64
                         : kFloat32;
    const Tensor x = zeros(shape_of(c, "x_shape"), dt).requires_grad_();
    const Tensor w = zeros(shape_of(c, "weight_shape"));
    const Tensor b =
        c.contains("bias_shape") ? zeros(shape_of(c, "bias_shape")) : Tensor();
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

Outcome run_value_case(const json& c, const fs::path& dir) {
  auto npy = [&](const char* f) { return load_npy((dir / f).string()); };
  Op op = Op::build(c);
  const bool has_bias = c.at("bias").get<bool>();
  op.set(npy("weight.npy"), has_bias ? npy("bias.npy") : Tensor());
  const Tensor x = npy("x.npy").requires_grad_();
  const Tensor y = op.forward(x);
  const Tensor gy = npy("gy.npy");
  VOXGRAD_CHECK(
      gy.shape() == y.shape(), "gy.npy has shape ", shape_str(gy.shape()),
      " but the op returned ", shape_str(y.shape()));
  y.backward(gy);
  const double atol = c.at("atol").get<double>(),
               rtol = c.at("rtol").get<double>();
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
    std::ifstream in(dir / "case.json");
    const json c = json::parse(in);
    if (c.value("expect_error", false))
      return run_error_case(c);
    return run_value_case(c, dir);
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

int main(int argc, char** argv) {
  std::vector<fs::path> roots;
  int timeout_s = 120;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--timeout" && i + 1 < argc) {
      timeout_s = std::max(1, std::atoi(argv[++i]));
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: voxgrad-conformance [--timeout SECONDS] DIR...\n"
                   "Runs every case folder (holding case.json) under each DIR "
                   "(SPEC §2).\n";
      return 0;
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
    if (fs::exists(root / "case.json"))
      cases.emplace_back(root.parent_path(), root);
    for (auto it = fs::recursive_directory_iterator(root);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && fs::exists(it->path() / "case.json"))
        cases.emplace_back(root, it->path());
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
