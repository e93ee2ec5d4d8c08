// The ```cpp usage examples of voxgrad/core/ and voxgrad/autograd/'s
// headers (those fenced after tests/doc_snippets.cpp's rule), verbatim
// (ctest docs_snippets_in_sync checks that), compiled and run here: one
// function per example, given the names it uses, and a TEST_CASE checking
// what the example's comment says. The copies are not clang-formatted, so
// that they stay the headers' text. Edit a header's example and its copy
// together.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/mem_overlap.hpp"
#include "voxgrad/core/profiler.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/core/utf8.hpp"

namespace voxgrad::doc_examples_core {
namespace {

// clang-format off

// ---- voxgrad/core/allocator.hpp
void empty_cache_hpp() {
voxgrad::empty_cache();
}

template <class Step>
size_t peak_memory_hpp(Step step) {
voxgrad::reset_peak_memory_stats();
step();
size_t peak = voxgrad::max_memory_allocated();
  return peak;
}

size_t set_cache_limit_hpp() {
size_t old = voxgrad::set_cache_limit(size_t{1} << 30);
  return old;
}

// ---- voxgrad/core/atomic_file.hpp
void atomic_file_hpp(const std::string& header, const std::vector<uint8_t>& data) {
AtomicFile f("out/a.npy", "save_npy");
f.write(header);
f.write(data);
f.commit();
}

void write_file_atomic_hpp(const std::string& text) {
voxgrad::write_file_atomic("out/log.csv", text, "train_log");
}

// ---- voxgrad/core/checked.hpp
std::pair<int64_t, int64_t> checked_hpp(int64_t a, int64_t b, double x) {
int64_t n = checked::mul(a, b, "reshape", "element count");
int64_t k = checked::to_int64(std::ceil(x), "arange", "length");
  return {n, k};
}

// ---- voxgrad/core/dtype.hpp
void require_floating_hpp(const Tensor& x) {
require_floating(x.dtype(), "softmax", "input");
}

int64_t integral_value_hpp() {
int64_t two = integral_value(2.0, "full", "fill value");  // 2
  return two;
}

template <class Use>
void dispatch_hpp(const Tensor& x, Use use) {
dispatch(x.dtype(), [&]<class T>() { use(x.data<T>()); });
}

// ---- voxgrad/core/error.hpp
Tensor error_hpp(nn::Conv3d& conv, const Tensor& x) {
Tensor y;
try {
  y = conv(x);
} catch (const voxgrad::Error& e) {
  std::cerr << e.what() << "\n";
}
  return y;
}

// ---- voxgrad/core/mem_overlap.hpp
int64_t mem_overlap_hpp() {
int64_t axis = internal_overlap_axis(ones({1, 3}).expand({4, 3}));  // 0
  return axis;
}

// ---- voxgrad/core/npy.hpp
Tensor npy_hpp(const Tensor& x) {
voxgrad::save_npy("x.npy", x);
Tensor y = voxgrad::load_npy("x.npy");  // == x, bit for bit
  return y;
}

Tensor load_npy_hpp() {
Tensor x = voxgrad::load_npy("x.npy");
  return x;
}

// ---- voxgrad/core/padding_mode.hpp
PaddingMode padding_mode_hpp() {
PaddingMode m = parse_padding_mode("circular");
  return m;
}

// ---- voxgrad/core/parallel.hpp
void parallel_hpp() {
voxgrad::set_num_threads(1);
}

// ---- voxgrad/core/profiler.hpp
template <class TrainStep>
void profiler_hpp(TrainStep train_step) {
{
  voxgrad::profiler::Session session;       // records until destroyed
  train_step();
  std::cout << voxgrad::profiler::table();  // sorted by total time
  voxgrad::profiler::write_chrome_trace("step.json");
}
}

// ---- voxgrad/core/quote.hpp
std::pair<std::string, std::string> quote_hpp() {
std::string shown = printable("a\nb");  // "a\\x0ab"
std::string quoted = quote("run/ckpt.json");  // "'run/ckpt.json'"
  return {shown, quoted};
}

// ---- voxgrad/core/utf8.hpp
std::pair<size_t, size_t> utf8_hpp() {
size_t ok = utf8_error_offset("ok");       // 2, the size: all valid
size_t bad = utf8_error_offset("a\xffz");  // 1: 0xff is never UTF-8
  return {ok, bad};
}

// ---- voxgrad/autograd/nn_ops.hpp
Tensor upsample_nearest3d_hpp(const Tensor& x) {
Tensor y = upsample_nearest3d(x, {8, 8, 8}, {2.0, 2.0, 2.0});
  return y;
}

// ---- voxgrad/autograd/ops.hpp
Tensor softmax_hpp(const Tensor& logits) {
Tensor probs = softmax(logits, 1);
  return probs;
}

Tensor gather_hpp(const Tensor& logits, const Tensor& labels) {
Tensor picked = gather(logits, 1, labels.unsqueeze(1));
  return picked;
}

std::pair<Tensor, Tensor> max_hpp(const Tensor& scores) {
auto [v, i] = max(scores, 1);
  return {v, i};
}

Tensor roll_hpp(const Tensor& x) {
Tensor rolled = roll(x, {1, -2}, {2, 3});
  return rolled;
}

Tensor pad_hpp(const Tensor& x) {
Tensor y = pad(x, {1, 1, 1, 1, 1, 1}, PaddingMode::Circular);
  return y;
}

Tensor pad_adjoint_hpp(const Tensor& g) {
Tensor x_grad = pad_adjoint(g, {1, 1, 1, 1, 1, 1}, PaddingMode::Reflect);
  return x_grad;
}

// clang-format on

// What f writes to `stream` (std::cout or std::cerr).
template <class F>
std::string output_of(std::ostream& stream, F&& f) {
  std::ostringstream out;
  std::streambuf* old = stream.rdbuf(out.rdbuf());
  try {
    f();
  } catch (...) {
    stream.rdbuf(old);
    throw;
  }
  stream.rdbuf(old);
  return out.str();
}

}  // namespace

TEST_CASE("header examples: allocator.hpp's cache and peak statistics") {
  empty_cache_hpp();
  CHECK(cached_bytes() == 0);
  // A step that allocates 1 MiB: the peak covers it (whatever was live).
  const size_t peak = peak_memory_hpp([] {
    (void)zeros({256, 1024}, kFloat32);
  });
  CHECK(peak >= size_t{1} << 20);
  const size_t old = set_cache_limit_hpp();
  CHECK(set_cache_limit(old) == size_t{1} << 30);  // and restores it
}

TEST_CASE("header examples: atomic_file.hpp's streamed and one-call writes") {
  test::TempDir dir("header_examples_core");
  std::filesystem::create_directories(dir.path / "out");
  test::CurrentDir cd(dir.path);
  atomic_file_hpp("head:", {'a', 'b'});
  CHECK(test::read_bytes("out/a.npy") == "head:ab");
  write_file_atomic_hpp("step,loss\n");
  CHECK(test::read_bytes("out/log.csv") == "step,loss\n");
  // Nothing else: no temporary file left beside the two.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir.path / "out"))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"a.npy", "log.csv"});
}

TEST_CASE("header examples: checked.hpp, dtype.hpp and error.hpp") {
  CHECK(checked_hpp(3, 4, 2.5) == std::pair<int64_t, int64_t>{12, 3});
  CHECK_ERROR_CONTAINS(
      checked_hpp(int64_t{1} << 62, 4, 0.0), "reshape: element count");
  CHECK_NOTHROW(require_floating_hpp(zeros({2})));
  CHECK_ERROR_CONTAINS(
      require_floating_hpp(zeros({2}, kInt64)),
      "softmax: input is int64, but softmax needs float32 or float64");
  CHECK(integral_value_hpp() == 2);
  double sum = 0;
  dispatch_hpp(tensor({1.5, 2.0}, kFloat64), [&](const auto* p) {
    sum = static_cast<double>(p[0] + p[1]);
  });
  CHECK(sum == 3.5);

  nn::Conv3d conv(nn::Conv3dOptions(2, 4, 3));
  Tensor y;
  const std::string err = output_of(std::cerr, [&] {
    y = error_hpp(conv, zeros({1, 3, 4, 4, 4}));
  });
  CHECK(!y.defined());  // the call threw; y was never assigned
  CHECK(err.starts_with("conv3d: "));
  CHECK(err.ends_with("\n"));
}

TEST_CASE("header examples: mem_overlap, npy, padding_mode, parallel") {
  CHECK(mem_overlap_hpp() == 0);
  test::TempDir dir("header_examples_core");
  test::CurrentDir cd(dir.path);
  const Tensor x = randn({2, 3, 4}, kFloat64);
  CHECK(test::bit_equal(npy_hpp(x), x));
  CHECK(test::bit_equal(load_npy_hpp(), x));
  CHECK(padding_mode_hpp() == PaddingMode::Circular);
  const int before = num_threads();
  parallel_hpp();
  CHECK(num_threads() == 1);
  set_num_threads(before);
}

TEST_CASE("header examples: profiler.hpp's session, table and trace") {
  test::TempDir dir("header_examples_core");
  test::CurrentDir cd(dir.path);
  const Tensor a = ones({8, 8});
  const std::string table =
      output_of(std::cout, [&] { profiler_hpp([&] { (void)(a + a); }); });
  CHECK(table.find("add") != std::string::npos);  // the op it recorded
  CHECK(std::filesystem::file_size("step.json") > 0);
  CHECK(!profiler::active());  // the session ended with its scope
}

TEST_CASE("header examples: quote.hpp and utf8.hpp") {
  const auto [shown, quoted] = quote_hpp();
  CHECK(shown == "a\\x0ab");
  CHECK(quoted == "'run/ckpt.json'");
  CHECK(utf8_hpp() == std::pair<size_t, size_t>{2, 1});
}

TEST_CASE("header examples: autograd's ops.hpp and nn_ops.hpp") {
  manual_seed(0);
  const Tensor x = rand({1, 2, 4, 4, 4});
  const Tensor up = upsample_nearest3d_hpp(x);
  CHECK(up.shape() == Shape{1, 2, 8, 8, 8});
  // Each input cell fills a 2x2x2 block: every second one is x again.
  CHECK(test::bit_equal(
      up.slice(2, 1, 8, 2).slice(3, 1, 8, 2).slice(4, 1, 8, 2), x));
  const Tensor logits = randn({3, 5});
  const Tensor probs = softmax_hpp(logits);
  CHECK(test::allclose(probs.sum({1}), ones({3})));
  const Tensor labels = tensor({4, 0, 2}, kInt64);
  const Tensor picked = gather_hpp(logits, labels);
  CHECK(picked.shape() == Shape{3, 1});
  CHECK(picked.to_vector<double>()[1] == logits.to_vector<double>()[5]);
  const auto [v, i] = max_hpp(logits);
  CHECK(test::bit_equal(v, logits.amax({1})));
  CHECK(test::bit_equal(i, logits.argmax(1)));
  const Tensor r = roll_hpp(arange(16).reshape({1, 1, 4, 4}));
  // Row 0 of the result is row 3 of the input shifted left by 2.
  CHECK(
      r.select(2, 0).flatten().to_vector<double>() ==
      std::vector<double>{14, 15, 12, 13});
  const Tensor y = pad_hpp(x);
  CHECK(y.shape() == Shape{1, 2, 6, 6, 6});
  const Tensor g = ones({1, 2, 6, 6, 6});
  const Tensor x_grad = pad_adjoint_hpp(g);
  CHECK(x_grad.shape() == Shape{1, 2, 4, 4, 4});
  CHECK(x_grad.sum().item() == g.sum().item());  // every halo value lands
}

}  // namespace voxgrad::doc_examples_core
