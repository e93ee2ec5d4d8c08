// .npy: files NumPy wrote (tests/golden/npy, tools/gen_npy_golden.py), byte
// equality of what save_npy writes, the header grammar NumPy allows, and a
// large set of hostile headers, each refused with a message naming the
// field, the value and the rule (NOTE [ The .npy format as read here ]).

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "test_util.hpp"
#include "voxgrad/core/npy.hpp"

namespace voxgrad {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

const fs::path kGolden = fs::path(VOXGRAD_TEST_DATA_DIR) / "golden" / "npy";

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// A .npy file: magic, version (major, minor), the header length as the
/// version stores it, `header` verbatim, then `data_bytes` bytes of data.
std::vector<uint8_t> npy_file(
    const std::string& header,
    size_t data_bytes,
    int major = 1,
    int minor = 0) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  out.push_back(static_cast<uint8_t>(major));
  out.push_back(static_cast<uint8_t>(minor));
  const uint64_t n = header.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  for (size_t i = 0; i < data_bytes; ++i)
    out.push_back(static_cast<uint8_t>(i * 37 + 1));
  return out;
}

std::string dict(
    const std::string& descr,
    const std::string& order,
    const std::string& shape) {
  return "{'descr': " + descr + ", 'fortran_order': " + order +
         ", 'shape': " + shape + ", }\n";
}

/// "(1, 1, ..., 1)" with n ones.
std::string ones_tuple(int n) {
  std::string s = "(";
  for (int i = 0; i < n; ++i)
    s += "1, ";
  return s + ")";
}

/// The load_npy_from_bytes error for `bytes` ("" when it loads).
std::string npy_error(const std::vector<uint8_t>& bytes) {
  return test::error_of([&] { load_npy_from_bytes(bytes, "case.npy"); });
}

/// k * 0.5 - 3 at flat index k (what tools/gen_npy_golden.py writes).
Tensor golden_values(const Shape& shape, Dtype dt) {
  const int64_t n = numel(shape);
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k)
    v[static_cast<size_t>(k)] = static_cast<double>(k) * 0.5 - 3;
  return tensor(v, shape, dt);
}

}  // namespace

TEST_CASE("load_npy reads every file NumPy wrote, from disk and from memory") {
  const auto manifest = nlohmann::json::parse(
      test::read_bytes((kGolden / "manifest.json").string()));
  int read = 0;
  bool long_header = false, v2 = false, v3 = false, fortran = false,
       zero_d = false, empty = false;
  for (const auto& c : manifest["cases"]) {
    const std::string file = c["file"].get<std::string>();
    CAPTURE(file);
    const Shape shape = c["shape"].get<Shape>();
    const Dtype dt = c["dtype"] == "float64" ? kFloat64 : kFloat32;
    const Tensor want = golden_values(shape, dt);
    const Tensor from_path = load_npy((kGolden / file).string());
    const Tensor from_bytes = load_npy_from_bytes(file_bytes(kGolden / file));
    CHECK(test::bit_equal(from_path, want));
    CHECK(test::bit_equal(from_bytes, want));
    // (An empty tensor reports is_contiguous() false: contiguous_strides and
    // is_contiguous disagree on zero extents, a core matter.)
    CHECK((from_path.is_contiguous() || from_path.numel() == 0));
    const NpyHeader h = parse_npy_header(
        file_bytes(kGolden / file), fs::file_size(kGolden / file), file);
    CHECK(h.major == c["version"][0].get<int>());
    CHECK(h.fortran_order == c["fortran_order"].get<bool>());
    long_header |= c["header_len"].get<int>() >= 128 &&
                   (c["header_len"].get<int>() & 0x80) != 0;
    v2 |= h.major == 2;
    v3 |= h.major == 3;
    fortran |= h.fortran_order;
    zero_d |= shape.empty();
    empty |= numel(shape) == 0;
    ++read;
  }
  CHECK(read >= 16);
  // The goldens cover what the issue names (a sign-extending reader broke on
  // a header length whose low byte is >= 0x80).
  CHECK(long_header);
  CHECK(v2);
  CHECK(v3);
  CHECK(fortran);
  CHECK(zero_d);
  CHECK(empty);
}

TEST_CASE("save_npy writes what numpy.save writes, byte for byte") {
  const auto manifest = nlohmann::json::parse(
      test::read_bytes((kGolden / "manifest.json").string()));
  TempDir dir("npy");
  int compared = 0;
  for (const auto& c : manifest["cases"]) {
    if (c["fortran_order"].get<bool>() || c["version"][0] != 1)
      continue;  // save_npy writes C order, version 1.0 (as numpy.save does)
    const std::string file = c["file"].get<std::string>();
    CAPTURE(file);
    const Tensor t = golden_values(
        c["shape"].get<Shape>(), c["dtype"] == "float64" ? kFloat64 : kFloat32);
    save_npy(dir / file, t);
    CHECK(file_bytes(dir / file) == file_bytes(kGolden / file));
    CHECK(npy_bytes(t) == file_bytes(kGolden / file));
    ++compared;
  }
  CHECK(compared >= 10);
  CHECK(dir.entries().size() == static_cast<size_t>(compared));  // no temps
}

TEST_CASE("save_npy then load_npy is bit-identical for many shapes and views") {
  TempDir dir("npy");
  Generator g(9);
  const std::vector<Shape> shapes = {
      {}, {1}, {7}, {0}, {3, 0}, {2, 3, 4}, {1, 1, 1}, {2, 1, 3, 2, 2}, {5, 4}};
  for (Dtype dt : {kFloat32, kFloat64})
    for (const Shape& s : shapes) {
      CAPTURE(shape_str(s));
      const Tensor x = randn(s, dt, &g);
      const std::string p = dir / "rt.npy";
      save_npy(p, x);
      CHECK(test::bit_equal(load_npy(p), x));
    }
  // Non-finite values and -0.0 survive; a strided view is written in order.
  const Tensor special = tensor({-0.0, INFINITY, -INFINITY, NAN, 1e-40});
  save_npy(dir / "special.npy", special);
  CHECK(test::bit_equal(load_npy(dir / "special.npy"), special));
  const Tensor base = arange(24).reshape({2, 3, 4});
  const Tensor view = base.permute({2, 0, 1}).slice(0, 1, 4, 2);
  save_npy(dir / "view.npy", view);
  CHECK(test::bit_equal(load_npy(dir / "view.npy"), view.contiguous()));
}

TEST_CASE("the header grammar: any key order, quotes, commas and spacing") {
  struct Case {
    std::string header;
    Shape shape;
    Dtype dtype;
    bool fortran;
  };
  const std::vector<Case> ok = {
      {dict("'<f4'", "False", "(2, 3)"), {2, 3}, kFloat32, false},
      {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
       {2, 3},
       kFloat32,
       false},
      {"{'fortran_order': True, 'shape': (3, 2), 'descr': '<f8'}",
       {3, 2},
       kFloat64,
       true},
      {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}",
       {6},
       kFloat32,
       false},
      {"{'descr': \"<f8\", \"fortran_order\": False, 'shape': (1, 2,),}",
       {1, 2},
       kFloat64,
       false},
      {"{ 'descr' :'<f8' ,\n\t'fortran_order':True,'shape':( 2 ,3 , ) }   \n",
       {2, 3},
       kFloat64,
       true},
      {"  {'descr':'<f4','fortran_order':False,'shape':(6,)}",
       {6},
       kFloat32,
       false},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1_0,)}",
       {10},
       kFloat32,
       false},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ()}",
       {},
       kFloat32,
       false},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 00, 0_0)}",
       {0, 0, 0},
       kFloat32,
       false},
      {"{'descr': '<f8', 'fortran_order': True, 'shape': (0, 5)}",
       {0, 5},
       kFloat64,
       true},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,\n 2)\r\n}",
       {2, 2},
       kFloat32,
       false},
  };
  for (int major : {1, 2, 3})
    for (const Case& c : ok) {
      CAPTURE(c.header);
      CAPTURE(major);
      const size_t n = static_cast<size_t>(numel(c.shape)) * itemsize(c.dtype);
      const auto bytes = npy_file(c.header, n, major);
      const NpyHeader h = parse_npy_header(bytes, bytes.size(), "ok.npy");
      CHECK(h.shape == c.shape);
      CHECK(h.dtype == c.dtype);
      CHECK(h.fortran_order == c.fortran);
      CHECK(h.data_bytes == n);
      const Tensor t = load_npy_from_bytes(bytes);
      CHECK(t.shape() == c.shape);
      CHECK(t.dtype() == c.dtype);
    }
}

TEST_CASE("Fortran order is read as the logical array NumPy means") {
  // Bytes in column-major order: element (i, j) of a 2x3 array at j*2 + i.
  std::vector<uint8_t> bytes =
      npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}", 0);
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 2; ++i) {
      const float v = static_cast<float>(10 * i + j);
      uint8_t b[4];
      std::memcpy(b, &v, 4);
      bytes.insert(bytes.end(), b, b + 4);
    }
  const Tensor t = load_npy_from_bytes(bytes);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector<double>() == std::vector<double>{0, 1, 2, 10, 11, 12});
  CHECK(t.is_contiguous());
}

TEST_CASE("hostile headers are refused, naming the field, value and rule") {
  struct Bad {
    std::string header;
    size_t data;
    std::vector<const char*> expect;
  };
  const std::string f4 = "'<f4'";
  const std::vector<Bad> bad = {
      // shape values that are not non-negative Python ints
      {dict(f4, "False", "(3.9,)"),
       12,
       {"'shape' entry 0", "'3.9'", "not an integer"}},
      {dict(f4, "False", "(abc,)"), 0, {"'abc'", "not an integer"}},
      {dict(f4, "False", "(2, 2junk)"), 16, {"'shape' entry 1", "'2junk'"}},
      {dict(f4, "False", "(2j,)"), 8, {"'2j'", "not an integer"}},
      {dict(f4, "False", "(1e3,)"), 4000, {"'1e3'"}},
      {dict(f4, "False", "(-1,)"), 0, {"'-1'", "negative"}},
      {dict(f4, "False", "(-0,)"), 0, {"negative"}},
      {dict(f4, "False", "(+5,)"), 20, {"'+5'", "not an integer"}},
      {dict(f4, "False", "(0x10,)"), 64, {"'0x10'"}},
      {dict(f4, "False", "(007,)"), 28, {"'007'", "leading zero"}},
      {dict(f4, "False", "(0_7,)"), 28, {"leading zero"}},
      {dict(f4, "False", "(1__0,)"), 40, {"'1__0'"}},
      {dict(f4, "False", "(_1,)"), 4, {"'_1'"}},
      {dict(f4, "False", "(1_,)"), 4, {"'1_'"}},
      {dict(f4, "False", "(True,)"), 4, {"boolean"}},
      {dict(f4, "False", "(False, 2)"), 0, {"boolean"}},
      {dict(f4, "False", "(None,)"), 0, {"'None'"}},
      {dict(f4, "False", "('2',)"), 8, {"not an integer"}},
      {dict(f4, "False", "((2,),)"), 8, {"not an integer"}},
      {dict(f4, "False", "(5)"), 20, {"is an int, not a tuple", "(5,)"}},
      {dict(f4, "False", "[5]"), 20, {"'shape' must be a tuple"}},
      {dict(f4, "False", "5"), 20, {"'shape' must be a tuple"}},
      {dict(f4, "False", "None"), 0, {"'shape' must be a tuple"}},
      {dict(f4, "False", "(2,,)"), 8, {"'shape' entry 1", "not an integer"}},
      {dict(f4, "False", "(,)"), 0, {"'shape' entry 0"}},
      {dict(f4, "False", "(2 3)"), 24, {"expected ',' or ')'"}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,",
       8,
       {"not closed"}},
      {dict(f4, "False", "(99999999999999999999,)"),
       0,
       {"larger than 2^63 - 1"}},
      {dict(f4, "False", "(9223372036854775808,)"),
       0,
       {"larger than 2^63 - 1"}},
      // counts that overflow or disagree with the file
      {dict(f4, "False", "(9223372036854775807,)"),
       8,
       {"byte count overflows"}},
      {dict(f4, "False", "(3, 6148914691236517206)"), 8, {"overflows int64"}},
      {dict(f4, "False", "(4611686018427387904, 4611686018427387904, 0)"),
       0,
       {"overflows int64"}},
      {dict(f4, "False", "(4294967296, 4294967296)"), 8, {"overflows int64"}},
      {dict(f4, "False", "(2147483648, 1073741824)"),
       8,
       {"byte count overflows", "exceed 4611686018427387904"}},
      {dict(f4, "False", "(0, 4611686018427387904, 2)"),
       0,
       {"overflows int64"}},
      {dict(f4, "False", "(2147483648, 536870912)"),
       8,
       {"4611686018427387904 bytes of data", "truncated"}},
      {dict(f4, "False", "(2, 3)"),
       20,
       {"24 bytes of data", "20 bytes after", "truncated"}},
      {dict(f4, "False", "(2, 3)"),
       28,
       {"24 bytes of data", "28 bytes after", "trailing"}},
      {dict(f4, "False", "()"), 0, {"4 bytes of data", "0 bytes after"}},
      {dict(f4, "False", "(0,)"), 4, {"trailing"}},
      {dict(f4, "False", ones_tuple(33)), 4, {"more than 32 extents"}},
      {dict(f4, "False", ones_tuple(32)), 8, {"4 bytes of data", "trailing"}},
      // fortran_order
      {dict(f4, "0", "(2,)"),
       8,
       {"'fortran_order' must be True or False", "'0'"}},
      {dict(f4, "1", "(2,)"), 8, {"'fortran_order'", "'1'"}},
      {dict(f4, "'False'", "(2,)"), 8, {"'fortran_order'"}},
      {dict(f4, "false", "(2,)"), 8, {"'fortran_order'", "'false'"}},
      {dict(f4, "Truex", "(2,)"), 8, {"'Truex'"}},
      {dict(f4, "None", "(2,)"), 8, {"'fortran_order'"}},
      // descr
      {dict("'>f4'", "False", "(2,)"), 8, {"'>f4'", "big-endian"}},
      {dict("'>f8'", "False", "(2,)"), 16, {"'>f8'", "big-endian"}},
      {dict("'|f4'", "False", "(2,)"), 8, {"'|f4'", "ambiguous"}},
      {dict("'=f8'", "False", "(2,)"), 16, {"'=f8'", "ambiguous"}},
      {dict("'f4'", "False", "(2,)"), 8, {"'f4'", "explicit byte order"}},
      {dict("'float32'", "False", "(2,)"), 8, {"'float32'", "not a supported"}},
      {dict("'<i4'", "False", "(2,)"), 8, {"'<i4'", "'<f4' (float32)"}},
      {dict("'<i8'", "False", "(2,)"), 16, {"'<i8'", "not a supported"}},
      {dict("'<f2'", "False", "(2,)"), 4, {"'<f2'"}},
      {dict("'<c8'", "False", "(2,)"), 16, {"'<c8'"}},
      {dict("'|u1'", "False", "(2,)"), 2, {"'|u1'"}},
      {dict("'<f4 '", "False", "(2,)"), 8, {"'<f4 '"}},
      {dict("''", "False", "(2,)"), 8, {"''", "not a supported"}},
      {dict("[('a', '<f4')]", "False", "(2,)"),
       8,
       {"'descr' must be a string"}},
      {dict("<f4", "False", "(2,)"), 8, {"'descr' must be a string"}},
      {dict("'<f\\x34'", "False", "(2,)"), 8, {"escape sequences"}},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
       8,
       {"'<f4, '", "not a supported dtype"}},
      {"{'descr': '<f4", 8, {"unterminated string"}},
      // the dict itself
      {"{'descr': '<f4', 'fortran_order': False}",
       4,
       {"missing the key 'shape'"}},
      {"{'shape': (2,), 'fortran_order': False}",
       8,
       {"missing the key 'descr'"}},
      {"{'descr': '<f4', 'shape': (2,)}",
       8,
       {"missing the key 'fortran_order'"}},
      {"{}", 0, {"missing the key"}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
       8,
       {"unexpected key 'x'"}},
      {"{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': "
       "(2,)}",
       16,
       {"'descr' appears twice"}},
      {"{'shape': (2,), 'shape': (2,), 'descr': '<f4', 'fortran_order': False}",
       8,
       {"'shape' appears twice"}},
      {"{'Descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
       8,
       {"unexpected key 'Descr'"}},
      {"{descr: '<f4', 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected a key in quotes"}},
      {"{b'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected a key in quotes"}},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected ':' after the key 'descr'"}},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected ',' or '}'"}},
      {"{'descr': '<f4',, 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected a key in quotes"}},
      {"{, 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected a key in quotes"}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
       8,
       {"expected ',' or '}'", "the end of the header"}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
       8,
       {"unexpected text after the closing '}'"}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}}",
       8,
       {"unexpected text after"}},
      {"('descr', '<f4')", 8, {"must be a Python dict literal"}},
      {"dict(descr='<f4')", 8, {"must be a Python dict literal"}},
      {std::string(100, ' '), 0, {"must be a Python dict literal"}},
      {"{'descr': '<f4', # a comment\n 'fortran_order': False, 'shape': (2,)}",
       8,
       {"expected a key in quotes"}},
      {std::string("{'descr': '<f4', 'fortran_order': False,") + '\0' +
           " 'shape': (2,)}",
       8,
       {"expected a key in quotes", "\\x00"}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\x01",
       8,
       {"unexpected text after", "\\x01"}},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.header);
    const std::string msg = npy_error(npy_file(b.header, b.data));
    REQUIRE_MESSAGE(!msg.empty(), "accepted: " << b.header);
    CHECK(msg.find("load_npy: 'case.npy'") == 0);
    for (const char* part : b.expect)
      CHECK_MESSAGE(
          msg.find(part) != std::string::npos,
          "message '" << msg << "' lacks '" << part << "'");
    // The same verdict for every version (headers are latin-1 / UTF-8).
    for (int major : {2, 3})
      CHECK(!npy_error(npy_file(b.header, b.data, major)).empty());
  }
}

TEST_CASE("hostile preambles: magic, version, header length") {
  const std::string ok = dict("'<f4'", "False", "(2,)");
  const auto good = npy_file(ok, 8);
  struct Bad {
    std::vector<uint8_t> bytes;
    std::vector<const char*> expect;
  };
  auto with = [&](size_t at, std::vector<uint8_t> b) {
    std::vector<uint8_t> out = good;
    std::copy(b.begin(), b.end(), out.begin() + static_cast<long>(at));
    return out;
  };
  auto v1_len = [&](uint16_t len) {
    return with(8, {static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8)});
  };
  std::vector<uint8_t> v2_huge = npy_file(ok, 8, 2);
  v2_huge[8] = v2_huge[9] = v2_huge[10] = v2_huge[11] = 0xFF;
  std::vector<uint8_t> v2_high = npy_file(ok, 8, 2);
  v2_high[11] = 0x80;  // 2^31 + len: must not turn negative
  const std::vector<Bad> bad = {
      {{}, {"not a .npy file", "0 bytes"}},
      {{0x93, 'N', 'U', 'M', 'P'}, {"not a .npy file"}},
      {{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}, {"not a .npy file"}},
      {with(0, {'x'}), {"not a .npy file"}},
      {{0x93, 'N', 'U', 'M', 'P', 'Y'}, {"not a .npy file"}},
      {{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, {"ends inside the preamble"}},
      {{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 5}, {"ends inside the preamble"}},
      {{0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 5, 0, 0}, {"ends inside"}},
      {with(6, {0, 0}), {"format version 0.0 is not supported"}},
      {with(6, {1, 1}), {"format version 1.1"}},
      {with(6, {2, 1}), {"format version 2.1"}},
      {with(6, {4, 0}), {"format version 4.0"}},
      {with(6, {0xFF, 0xFF}), {"format version 255.255"}},
      {v1_len(0), {"header length is 0"}},
      {v1_len(static_cast<uint16_t>(ok.size() + 1000)), {"runs past the end"}},
      {v1_len(0x00B6), {"runs past the end"}},
      {v1_len(0xFFB6), {"runs past the end"}},
      {v1_len(0xFFFF), {"runs past the end"}},
      {v1_len(static_cast<uint16_t>(ok.size() - 2)),
       {"expected a key in quotes", "the end of the header"}},
      {v1_len(static_cast<uint16_t>(ok.size() + 1)),
       {"unexpected text", "\\x01"}},
      {v2_huge, {"header length 4294967295", "limit"}},
      {v2_high, {"header length 2147483", "limit"}},
      {npy_file(std::string(70000, ' '), 0, 2),
       {"header length 70000", "limit"}},
      // Invalid UTF-8 in a version 3.0 header (fine as latin-1 in 1.0).
      {npy_file(
           "{'descr': '<f4\xff', 'fortran_order': False, 'shape': (2,)}", 8, 3),
       {"must be UTF-8"}},
      {npy_file(
           "{'descr': '<f4\xc3', 'fortran_order': False, 'shape': (2,)}", 8, 3),
       {"must be UTF-8"}},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.bytes.size());
    const std::string msg = npy_error(b.bytes);
    REQUIRE(!msg.empty());
    for (const char* part : b.expect)
      CHECK_MESSAGE(
          msg.find(part) != std::string::npos,
          "message '" << msg << "' lacks '" << part << "'");
  }
  CHECK_ERROR_CONTAINS(
      load_npy_from_bytes(npy_file(
          "{'descr': '<f4\xff', 'fortran_order': False, 'shape': (2,)}", 8, 1)),
      "'<f4\\xff'", "not a supported dtype");
}

TEST_CASE("load_npy from a path: the same checks, and what is not a file") {
  TempDir dir("npy");
  const std::vector<std::pair<std::string, size_t>> cases = {
      {dict("'<f4'", "False", "(3, 6148914691236517206)"), 8},
      {dict("'<f4'", "False", "(2, 2junk)"), 16},
      {dict("'<f4'", "False", "(2, 3)"), 23},
      {dict("'<f4'", "False", "(2, 3)"), 25},
      {dict("'>f8'", "False", "(2,)"), 16},
  };
  for (const auto& [header, data] : cases) {
    const auto bytes = npy_file(header, data);
    const std::string p = dir / "bad.npy";
    test::write_bytes(p, std::string(bytes.begin(), bytes.end()));
    const std::string from_file = test::error_of([&] { load_npy(p); });
    const std::string from_mem =
        test::error_of([&] { load_npy_from_bytes(bytes, p); });
    CHECK(!from_file.empty());
    // Same words, up to the [file:line] suffix.
    CHECK(
        from_file.substr(0, from_file.find(" [")) ==
        from_mem.substr(0, from_mem.find(" [")));
  }
  // A header whose length field exceeds the limit is refused before it is
  // read, even when the file is that large (sparse).
  {
    auto bytes = npy_file("{", 0, 2);
    bytes[8] = 0x00, bytes[9] = 0x00, bytes[10] = 0x00, bytes[11] = 0x40;
    const std::string p = dir / "sparse.npy";
    test::write_bytes(p, std::string(bytes.begin(), bytes.end()));
    fs::resize_file(p, uint64_t{1} << 31);
    CHECK_ERROR_CONTAINS(load_npy(p), "header length 1073741824", "limit");
    // ... and data larger than the file are refused before allocating.
    auto big = npy_file(dict("'<f8'", "False", "(1073741824, 64)"), 0);
    test::write_bytes(p, std::string(big.begin(), big.end()));
    fs::resize_file(p, uint64_t{1} << 32);
    CHECK_ERROR_CONTAINS(
        load_npy(p), "549755813888 bytes of data", "truncated");
  }
  CHECK_ERROR_CONTAINS(
      load_npy(dir / "missing.npy"), "missing.npy", "cannot open");
  CHECK_ERROR_CONTAINS(load_npy(dir.path.string()), "not a regular file");
  const std::string fifo = dir / "fifo.npy";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_ERROR_CONTAINS(load_npy(fifo), "fifo.npy", "not a regular file");
  // A long path is named whole, never cut.
  const std::string long_name = std::string(200, 'n') + "_end.npy";
  CHECK_ERROR_CONTAINS(load_npy(dir / long_name), "_end.npy'");
}

TEST_CASE(
    "every truncation and many byte flips of NumPy's files: load or error") {
  for (const auto& entry : fs::directory_iterator(kGolden)) {
    if (entry.path().extension() != ".npy")
      continue;
    const auto bytes = file_bytes(entry.path());
    CAPTURE(entry.path().filename().string());
    for (size_t n = 0; n < bytes.size(); ++n) {
      const std::vector<uint8_t> cut(
          bytes.begin(), bytes.begin() + static_cast<long>(n));
      CHECK(!npy_error(cut).empty());
    }
    std::mt19937 rng(42);
    for (int k = 0; k < 300; ++k) {
      std::vector<uint8_t> b = bytes;
      const size_t at = rng() % std::min<size_t>(b.size(), 300);
      b[at] = static_cast<uint8_t>(rng());
      try {
        const Tensor t = load_npy_from_bytes(b);
        // Accepted (a flipped data byte): the tensor holds what the file
        // says, so writing and reading it again changes nothing.
        CHECK(test::bit_equal(load_npy_from_bytes(npy_bytes(t)), t));
      } catch (const Error&) {
      }
    }
  }
}

TEST_CASE("save_npy refuses what NumPy could not read, naming the path") {
  TempDir dir("npy");
  CHECK_ERROR_CONTAINS(save_npy(dir / "u.npy", Tensor()), "u.npy", "undefined");
  Shape many(33, 1);
  CHECK_ERROR_CONTAINS(
      save_npy(dir / "d.npy", zeros(many)), "33 dimensions", "at most 32");
  CHECK(dir.entries().empty());
  CHECK_ERROR_CONTAINS(
      save_npy(dir / "no_such_dir/x.npy", ones({2})), "save_npy",
      "no_such_dir/x.npy", "No such file or directory");
}

}  // namespace voxgrad
