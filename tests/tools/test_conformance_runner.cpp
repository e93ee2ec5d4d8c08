// voxgrad-conformance on hostile case folders and command lines (issue 10,
// classes 2 and 7): every bad case.json field and every hostile .npy is
// reported as a FAIL line naming the key or file, the value and the rule;
// the runner never dies, never rounds 2.5 to 2 or ignores a conv3d case's
// output_padding, and refuses a non-numeric --timeout.

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.hpp"
#include "voxgrad/core/npy.hpp"

#ifdef VOXGRAD_CONFORMANCE_EXE

namespace voxgrad {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::TempDir;

const fs::path kGood = fs::path(VOXGRAD_TEST_DATA_DIR) / "conformance" /
                       "conv3d" /
                       "conv_mb1ic2oc2_id6ih7iw8_k3_s2_p0_dil1_g1_bias";

struct Run {
  int status = -1;
  std::string out;
  /// The text after "PASS <name> " / "FAIL <name> " of `name`'s line.
  std::map<std::string, std::pair<bool, std::string>> cases;
};

/// `p` in single quotes for the shell (built piecewise: "'" + string&&
/// trips g++ 12's false -Wrestrict).
std::string shell_quoted(const fs::path& p) {
  std::string out = "'";
  out += p.string();
  out += '\'';
  return out;
}

Run run(const std::string& args) {
  Run r;
  std::string cmd = shell_quoted(VOXGRAD_CONFORMANCE_EXE);
  cmd += ' ';
  cmd += args;
  cmd += " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const bool pass = line.rfind("PASS ", 0) == 0;
    if (!pass && line.rfind("FAIL ", 0) != 0)
      continue;
    const size_t sp = line.find(' ', 5);
    r.cases[line.substr(5, sp - 5)] = {
        pass, sp == std::string::npos ? "" : line.substr(sp + 1)};
  }
  return r;
}

/// A copy of the good case under `root/name`, with case.json changed by
/// `edit` and the files in `files` replaced.
void make_case(
    const fs::path& root,
    const std::string& name,
    const std::function<void(json&)>& edit,
    const std::map<std::string, std::vector<uint8_t>>& files = {}) {
  const fs::path dir = root / name;
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(kGood))
    fs::copy_file(e.path(), dir / e.path().filename());
  json c = json::parse(test::read_bytes((dir / "case.json").string()));
  edit(c);
  test::write_bytes((dir / "case.json").string(), c.dump(1));
  for (const auto& [f, bytes] : files)
    test::write_bytes(
        (dir / f).string(), std::string(bytes.begin(), bytes.end()));
}

std::vector<uint8_t> npy_with_header(
    const std::string& header, size_t data, int major = 1) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  out.push_back(static_cast<uint8_t>(major));
  out.push_back(0);
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data, 0x3f);
  return out;
}

}  // namespace

TEST_CASE(
    "conformance runner: wrong-typed case.json fields name key and value") {
  TempDir dir("conformance");
  const fs::path root = dir.path;
  struct Bad {
    const char* name;
    std::function<void(json&)> edit;
    std::vector<std::string> expect;
  };
  const std::vector<Bad> bad = {
      {"kernel_2_5",
       [](json& c) {
         c["kernel_size"] = {2.5, 3, 3};
       },
       {"\"kernel_size\"[0] must be an integer (got 2.5"}},
      {"kernel_scalar_2_5",
       [](json& c) { c["kernel_size"] = 2.5; },
       {"\"kernel_size\" must be an int or a list of 1 or 3 ints (got 2.5)"}},
      {"kernel_3_0",
       [](json& c) {
         c["kernel_size"] = {3, 3.0, 3};
       },
       {"\"kernel_size\"[1] must be an integer (got 3.0"}},
      {"kernel_true",
       [](json& c) { c["kernel_size"] = true; },
       {"\"kernel_size\" must be an int", "(got true)"}},
      {"kernel_list_of_bools",
       [](json& c) {
         c["kernel_size"] = {true, true, true};
       },
       {"\"kernel_size\"[0] must be an integer (got true"}},
      {"kernel_two",
       [](json& c) {
         c["kernel_size"] = {3, 3};
       },
       {"list of 1 or 3 ints (got [3,3])"}},
      {"kernel_string",
       [](json& c) { c["kernel_size"] = "3"; },
       {"\"kernel_size\" must be an int", "(got \"3\")"}},
      {"stride_huge",
       [](json& c) {
         c["stride"] = {18446744073709551615ULL, 1, 1};
       },
       {"\"stride\"[0] must be an integer (got 18446744073709551615"}},
      {"padding_1_5",
       [](json& c) {
         c["padding"] = {1.5, 0, 0};
       },
       {"\"padding\"[0] must be an integer (got 1.5"}},
      {"padding_unknown_string",
       [](json& c) { c["padding"] = "full"; },
       {"\"padding\" must be one of \"same\", \"valid\" (got \"full\")"}},
      {"dilation_null",
       [](json& c) { c["dilation"] = nullptr; },
       {"\"dilation\" must be an int", "(got null)"}},
      {"groups_1_0",
       [](json& c) { c["groups"] = 1.0; },
       {"\"groups\" must be an integer (got 1.0)"}},
      {"groups_true",
       [](json& c) { c["groups"] = true; },
       {"\"groups\" must be an integer (got true)"}},
      {"in_channels_string",
       [](json& c) { c["in_channels"] = "2"; },
       {"\"in_channels\" must be an integer (got \"2\")"}},
      {"out_channels_missing",
       [](json& c) { c.erase("out_channels"); },
       {"missing \"out_channels\""}},
      {"bias_int",
       [](json& c) { c["bias"] = 1; },
       {"\"bias\" must be true or false (got 1)"}},
      {"batched_string",
       [](json& c) { c["batched"] = "yes"; },
       {"\"batched\" must be true or false (got \"yes\")"}},
      {"atol_string",
       [](json& c) { c["atol"] = "1e-5"; },
       {"\"atol\" must be a finite number >= 0 (got \"1e-5\")"}},
      {"atol_negative",
       [](json& c) { c["atol"] = -1; },
       {"\"atol\" must be a finite number >= 0 (got -1)"}},
      {"rtol_bool",
       [](json& c) { c["rtol"] = false; },
       {"\"rtol\" must be a finite number >= 0 (got false)"}},
      {"op_unknown",
       [](json& c) { c["op"] = "conv2d"; },
       {"\"op\" must be one of \"conv3d\", \"conv_transpose3d\" (got "
        "\"conv2d\")"}},
      {"op_number",
       [](json& c) { c["op"] = 3; },
       {"\"op\" must be one of", "(got 3)"}},
      {"conv3d_output_padding",
       [](json& c) {
         c["output_padding"] = {0, 1, 0};
       },
       {"\"output_padding\" is [0,1,0], but a conv3d case must have "
        "output_padding 0"}},
      {"conv3d_output_padding_scalar",
       [](json& c) { c["output_padding"] = 1; },
       {"\"output_padding\" is 1, but a conv3d case"}},
      {"conv3d_output_size",
       [](json& c) {
         c["output_size"] = {3, 4, 4};
       },
       {"\"output_size\" is [3,4,4], but only conv_transpose3d"}},
      {"expect_error_string",
       [](json& c) { c["expect_error"] = "yes"; },
       {"\"expect_error\" must be true or false (got \"yes\")"}},
      {"stride_zero",
       [](json& c) {
         c["stride"] = {0, 1, 1};
       },
       {"stride"}},
  };
  for (const Bad& b : bad)
    make_case(root, b.name, b.edit);
  make_case(root, "good", [](json&) {});
  // case.json itself malformed.
  fs::create_directories(root / "not_json");
  test::write_bytes((root / "not_json/case.json").string(), "{\"op\": ");
  fs::create_directories(root / "json_array");
  test::write_bytes((root / "json_array/case.json").string(), "[1, 2]");
  fs::create_directories(root / "fifo");  // would block a reader
  REQUIRE(::mkfifo((root / "fifo/case.json").c_str(), 0600) == 0);

  const Run r = run(shell_quoted(root));
  CHECK(r.status == 1);
  CHECK(r.cases.at("good").first);
  for (const Bad& b : bad) {
    CAPTURE(b.name);
    REQUIRE(r.cases.count(b.name) == 1);
    CHECK_FALSE(r.cases.at(b.name).first);
    for (const auto& e : b.expect)
      CHECK_MESSAGE(
          r.cases.at(b.name).second.find(e) != std::string::npos,
          r.cases.at(b.name).second << " lacks " << e);
  }
  CHECK_FALSE(r.cases.at("not_json").first);
  CHECK(
      r.cases.at("not_json").second.find("not valid JSON") !=
      std::string::npos);
  CHECK(
      r.cases.at("json_array").second.find("must hold a JSON object") !=
      std::string::npos);
  CHECK(
      r.cases.at("fifo").second.find("case.json: not a regular file") !=
      std::string::npos);
  CHECK(r.out.find("[json.exception") == std::string::npos);
  CHECK(r.out.find("crash") == std::string::npos);
  CHECK(
      r.out.find(std::to_string(bad.size() + 3) + " failed") !=
      std::string::npos);
}

TEST_CASE("conformance runner: hostile .npy files are reported, never fatal") {
  TempDir dir("conformance");
  const fs::path root = dir.path;
  const auto h = [](const std::string& shape) {
    return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  std::vector<uint8_t> sign_extended = npy_with_header(h("(2, 2, 7, 8)"), 0);
  sign_extended[8] = 0xB6;  // header length 182 read as -74 by xnpy
  std::vector<uint8_t> v2_huge = npy_with_header(h("(2,)"), 8, 2);
  v2_huge[11] = 0xFF;
  const std::map<std::string, std::pair<std::vector<uint8_t>, std::string>>
      npy = {
          {"wraps_2_64",
           {npy_with_header(h("(3, 6148914691236517206)"), 8), "overflows"}},
          {"shape_3_9", {npy_with_header(h("(3.9,)"), 12), "'3.9'"}},
          {"shape_abc", {npy_with_header(h("(abc,)"), 0), "'abc'"}},
          {"shape_2junk", {npy_with_header(h("(2, 2junk)"), 16), "'2junk'"}},
          {"header_len_0xb6", {sign_extended, "runs past the end"}},
          {"header_len_0", {npy_with_header("", 8), "header length is 0"}},
          {"v2_huge_header", {v2_huge, "header length"}},
          {"truncated", {npy_with_header(h("(2, 2, 7, 8)"), 10), "truncated"}},
          {"big_endian",
           {npy_with_header(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", 8),
            "big-endian"}},
          {"not_npy", {{'h', 'e', 'l', 'l', 'o'}, "not a .npy file"}},
          {"empty", {{}, "not a .npy file"}},
      };
  for (const auto& [name, content] : npy)
    make_case(root, name, [](json&) {}, {{"x.npy", content.first}});
  make_case(root, "missing_y", [](json&) {});
  fs::remove(root / "missing_y" / "y.npy");
  make_case(
      root, "y_wrong_shape", [](json&) {},
      {{"y.npy", npy_bytes(zeros({1, 2, 3, 3, 3}))}});
  const Run r = run("--timeout 60 " + shell_quoted(root));
  CHECK(r.status == 1);
  for (const auto& entry : npy) {
    // A named copy: clang 14 cannot capture a structured binding (CAPTURE).
    const std::string& name = entry.first;
    CAPTURE(name);
    REQUIRE(r.cases.count(name) == 1);
    CHECK_FALSE(r.cases.at(name).first);
    const std::string& why = r.cases.at(name).second;
    CHECK(why.find("load_npy: '") != std::string::npos);
    CHECK(why.find("/" + name + "/x.npy'") != std::string::npos);
    CHECK(why.find(entry.second.second) != std::string::npos);
  }
  CHECK(
      r.cases.at("missing_y").second.find("cannot open") != std::string::npos);
  CHECK(
      r.cases.at("y_wrong_shape").second.find("y has shape") !=
      std::string::npos);
  CHECK(r.out.find("crash") == std::string::npos);
  CHECK(r.out.find("hang") == std::string::npos);
  CHECK(
      r.out.find("0 passed, " + std::to_string(npy.size() + 2) + " failed") !=
      std::string::npos);
}

TEST_CASE(
    "conformance runner: numeric flags are refused unless whole numbers") {
  TempDir dir("conformance");
  make_case(dir.path, "good", [](json&) {});
  const std::string root = shell_quoted(dir.path);
  for (const char* bad :
       {"abc", "0", "-1", "1.5", "1e3", "10s", "''", "99999999999", "86401",
        "' 5'", "0x10"}) {
    CAPTURE(bad);
    const Run r = run(std::string("--timeout ") + bad + " " + root);
    CHECK(r.status == 2);
    CHECK(
        r.out.find("--timeout: expected a whole number of seconds in [1, "
                   "86400]") != std::string::npos);
    CHECK(r.cases.empty());  // refused before running anything
  }
  const Run missing = run(root + " --timeout");
  CHECK(missing.status == 2);
  CHECK(missing.out.find("--timeout: missing value") != std::string::npos);
  const Run unknown = run("--timeuot 5 " + root);
  CHECK(unknown.status == 2);
  CHECK(unknown.out.find("unknown flag '--timeuot'") != std::string::npos);
  const Run eq_bad = run("--timeout=abc " + root);
  CHECK(eq_bad.status == 2);
  for (const char* ok : {"--timeout 30", "--timeout=30", "--timeout 86400"}) {
    const Run r = run(std::string(ok) + " " + root);
    CHECK(r.status == 0);
    CHECK(r.out.find("1 passed, 0 failed") != std::string::npos);
  }
}

}  // namespace voxgrad

#endif  // VOXGRAD_CONFORMANCE_EXE
