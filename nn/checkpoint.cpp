// Checkpoint save/load. See NOTE [ Checkpoint format, version 1 ] in
// nn/checkpoint.hpp for the document, the encoding and the checksum.

#include "nn/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>
#include <streambuf>
#include <system_error>
#include <unordered_map>

#include "autograd/grad_mode.hpp"
#include "optim/optimizer.hpp"

namespace voxgrad {

namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "voxgrad-checkpoint";
constexpr uint64_t kVersion = 1;
constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxValues = size_t{1} << 22;
constexpr size_t kMaxDims = 16;
/// Metadata may nest this deep (it sits two levels below the root).
constexpr size_t kMaxMetadataDepth = kMaxDepth - 2;
/// Problems listed in one message; the rest are counted.
constexpr size_t kMaxListed = 40;
/// save() writes in chunks of this size (and calls the test hook after each).
constexpr size_t kChunk = size_t{64} << 10;

detail::CheckpointWriteHook g_write_hook = nullptr;

std::string errno_text(int e) {
  return std::system_category().message(e);
}

/// `s` for a message: non-printable bytes as \xNN, cut at `max` bytes.
std::string printable(std::string_view s, size_t max) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > max)
    out += "...";
  return out;
}

/// `s` quoted for a message.
std::string quote(std::string_view s) {
  return "'" + printable(s, 80) + "'";
}

/// A JSON value shortened for a message.
std::string brief(const json& j) {
  std::string s;
  try {
    s = j.dump(-1, ' ', true, json::error_handler_t::replace);
  } catch (const std::exception&) {
    s = j.type_name();
  }
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

/// Collected problems; keeps the first kMaxListed, counts the rest.
class Problems {
 public:
  void add(std::string p) {
    ++count_;
    if (list_.size() < kMaxListed)
      list_.push_back(std::move(p));
  }
  bool empty() const {
    return count_ == 0;
  }
  [[noreturn]] void raise(std::string_view name) const {
    std::string msg = "load(" + quote(name) + "): " + std::to_string(count_) +
                      " problem(s), nothing was changed:";
    for (const auto& p : list_)
      msg += "\n  " + p;
    if (count_ > list_.size())
      msg += "\n  ... and " + std::to_string(count_ - list_.size()) + " more";
    VOXGRAD_FAIL(msg);
  }

 private:
  std::vector<std::string> list_;
  size_t count_ = 0;
};

// ---- FNV-1a 64 over the canonical dump, streamed (no second copy) ----------

class Fnv1aBuf : public std::streambuf {
 public:
  uint64_t hash = 14695981039346656037ULL;

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof())
      mix(static_cast<unsigned char>(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i)
      mix(static_cast<unsigned char>(s[i]));
    return n;
  }

 private:
  void mix(unsigned char c) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
};

std::string hex64(uint64_t v) {
  static const char* hex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    out[static_cast<size_t>(i)] = hex[v & 15];
  return out;
}

// ---- tensors
// -----------------------------------------------------------------

const char* dtype_tag(Dtype dt) {
  return dt == kFloat64 ? "f64" : "f32";
}

/// Byte-swaps elements in place on big-endian hosts (the format is LE).
void to_from_little_endian(uint8_t* bytes, size_t nbytes, size_t item) {
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = 0; i + item <= nbytes; i += item)
      std::reverse(bytes + i, bytes + i + item);
  } else {
    (void)bytes;
    (void)nbytes;
    (void)item;
  }
}

json encode_tensor(const Tensor& t) {
  NoGradGuard no_grad;
  const Tensor c = t.contiguous();
  const size_t nbytes = static_cast<size_t>(c.numel()) * itemsize(c.dtype());
  const auto* p = static_cast<const uint8_t*>(c.raw_data());
  std::string data;
  if constexpr (std::endian::native == std::endian::big) {
    std::vector<uint8_t> le(p, p + nbytes);
    to_from_little_endian(le.data(), nbytes, itemsize(c.dtype()));
    data = detail::base64_encode(le);
  } else {
    data = detail::base64_encode({p, nbytes});
  }
  return {
      {"shape", c.shape()},
      {"dtype", dtype_tag(c.dtype())},
      {"data", std::move(data)}};
}

size_t base64_length(size_t nbytes) {
  return (nbytes + 2) / 3 * 4;
}

bool base64_decode_into(std::string_view text, uint8_t* out, size_t nbytes);

/// Reads a tensor object. With `expect`, its shape and dtype must match
/// (checked before any allocation). Returns an undefined tensor after
/// adding the problems.
Tensor decode_tensor(
    const json& j,
    const std::string& where,
    const Tensor* expect,
    bool allow_nonfinite,
    Problems& problems) {
  if (!j.is_object()) {
    problems.add(
        where + ": must be a tensor {\"shape\", \"dtype\", \"data\"} (got " +
        j.type_name() + ")");
    return {};
  }
  bool ok = true;
  for (const auto& [k, v] : j.items())
    if (k != "shape" && k != "dtype" && k != "data") {
      problems.add(where + ": unexpected key " + quote(k));
      ok = false;
    }
  const auto dt_it = j.find("dtype");
  Dtype dtype = kFloat32;
  if (dt_it == j.end() || !dt_it->is_string() ||
      (*dt_it != "f32" && *dt_it != "f64")) {
    problems.add(
        where + ": dtype must be \"f32\" or \"f64\" (got " +
        (dt_it == j.end() ? std::string("nothing") : brief(*dt_it)) + ")");
    ok = false;
  } else {
    dtype = *dt_it == "f64" ? kFloat64 : kFloat32;
  }
  // Shape: at most kMaxDims extents, numel * itemsize must not overflow (the
  // length check below then bounds it by the data actually present).
  Shape shape;
  const auto sh_it = j.find("shape");
  bool shape_ok =
      sh_it != j.end() && sh_it->is_array() && sh_it->size() <= kMaxDims;
  uint64_t numel = 1;
  constexpr uint64_t kMaxNumel = uint64_t{1} << 56;
  if (shape_ok) {
    for (const auto& d : *sh_it) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > kMaxNumel) {
        shape_ok = false;
        break;
      }
      const uint64_t v = d.get<uint64_t>();
      shape.push_back(static_cast<int64_t>(v));
      numel = (v == 0 || numel == 0)    ? 0
              : (numel > kMaxNumel / v) ? kMaxNumel + 1
                                        : numel * v;
    }
    shape_ok = shape_ok && numel <= kMaxNumel;
  }
  if (!shape_ok) {
    problems.add(
        where + ": shape must be a list of at most " +
        std::to_string(kMaxDims) + " integers >= 0 with a product below 2^56" +
        " (got " + (sh_it == j.end() ? std::string("nothing") : brief(*sh_it)) +
        ")");
    ok = false;
  }
  const auto data_it = j.find("data");
  if (data_it == j.end() || !data_it->is_string()) {
    problems.add(
        where + ": data must be a base64 string (got " +
        (data_it == j.end() ? std::string("nothing")
                            : std::string(data_it->type_name())) +
        ")");
    ok = false;
  }
  if (!ok)
    return {};
  if (expect != nullptr &&
      (shape != expect->shape() || dtype != expect->dtype())) {
    problems.add(
        where + ": " + dtype_tag(dtype) + " " + shape_str(shape) +
        " does not match the model's " + dtype_tag(expect->dtype()) + " " +
        shape_str(expect->shape()));
    return {};
  }
  const auto& text = data_it->get_ref<const std::string&>();
  const size_t nbytes = static_cast<size_t>(numel) * itemsize(dtype);
  if (text.size() != base64_length(nbytes)) {
    problems.add(
        where + ": data has " + std::to_string(text.size()) +
        " base64 characters, but " + dtype_tag(dtype) + " " + shape_str(shape) +
        " needs " + std::to_string(base64_length(nbytes)) + " (" +
        std::to_string(nbytes) + " bytes)");
    return {};
  }
  Tensor t = empty(shape, dtype);
  auto* bytes = static_cast<uint8_t*>(t.raw_data());
  if (!base64_decode_into(text, bytes, nbytes)) {
    problems.add(where + ": data is not valid base64");
    return {};
  }
  to_from_little_endian(bytes, nbytes, itemsize(dtype));
  if (!allow_nonfinite) {
    int64_t bad = 0, first = -1;
    double first_value = 0;
    dispatch(dtype, [&]<class T>() {
      const T* x = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i)
        if (!std::isfinite(x[i])) {
          if (bad++ == 0) {
            first = i;
            first_value = static_cast<double>(x[i]);
          }
        }
    });
    if (bad > 0) {
      problems.add(
          where + ": " + std::to_string(bad) +
          " non-finite value(s), the first at flat index " +
          std::to_string(first) + " (" +
          optim::detail::format_double(first_value) +
          "); pass LoadOptions{.allow_nonfinite = true} to accept them");
      return {};
    }
  }
  return t;
}

// ---- parsing with limits
// -----------------------------------------------------

/// Builds the DOM like nlohmann's own SAX DOM parser, but refuses nesting
/// deeper than kMaxDepth, more than kMaxValues values, duplicate keys, CBOR
/// byte strings and non-finite numbers; records where parsing failed.
class LimitedDomBuilder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit LimitedDomBuilder(json& root) : root_(root) {}

  bool null() {
    return put(json(nullptr));
  }
  bool boolean(bool v) {
    return put(json(v));
  }
  bool number_integer(number_integer_t v) {
    return put(json(v));
  }
  bool number_unsigned(number_unsigned_t v) {
    return put(json(v));
  }
  bool number_float(number_float_t v, const string_t&) {
    if (!std::isfinite(v))
      return fail("a non-finite number (the format has none)");
    return put(json(v));
  }
  bool string(string_t& v) {
    return put(json(std::move(v)));
  }
  bool binary(binary_t&) {
    return fail("a CBOR byte string (the format has none)");
  }
  bool start_object(std::size_t) {
    return open(json::object());
  }
  bool key(string_t& k) {
    if (stack_.back()->contains(k))
      return fail("duplicate key " + quote(k));
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    return open(json::array());
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(
      std::size_t position, const std::string&, const json::exception& ex) {
    // nlohmann's message may quote the offending input: keep it printable.
    error_ = "at byte " + std::to_string(position) + ": " +
             printable(ex.what(), 300);
    return false;
  }

  const std::string& error() const {
    return error_;
  }

 private:
  bool fail(std::string why) {
    error_ = "refused " + std::move(why);
    return false;
  }
  json* put(json&& v, bool) {
    if (++count_ > kMaxValues) {
      fail(
          "more than " + std::to_string(kMaxValues) +
          " values (the loader's limit)");
      return nullptr;
    }
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool put(json&& v) {
    return put(std::move(v), true) != nullptr;
  }
  bool open(json&& v) {
    if (stack_.size() >= kMaxDepth)
      return fail(
          "nesting deeper than " + std::to_string(kMaxDepth) +
          " levels (the loader's limit)");
    json* slot = put(std::move(v), true);
    if (slot == nullptr)
      return false;
    stack_.push_back(slot);
    return true;
  }

  json& root_;
  std::vector<json*> stack_;
  std::string key_;
  size_t count_ = 0;
  std::string error_;
};

json parse_document(
    std::span<const uint8_t> bytes, bool cbor, std::string_view name) {
  json doc;
  LimitedDomBuilder sax(doc);
  bool ok = false;
  try {
    ok = json::sax_parse(
        bytes.data(), bytes.data() + bytes.size(), &sax,
        cbor ? json::input_format_t::cbor : json::input_format_t::json,
        /*strict=*/true);
  } catch (const std::exception& e) {
    VOXGRAD_FAIL(
        "load(", quote(name), "): cannot parse the file as ",
        cbor ? "CBOR" : "JSON", ": ", quote(e.what()));
  }
  VOXGRAD_CHECK(
      ok, "load(", quote(name), "): not a valid ", cbor ? "CBOR" : "JSON",
      " checkpoint (", bytes.size(), " bytes): ",
      sax.error().empty() ? std::string("parse error") : sax.error(),
      bytes.empty() ? "; the file is empty" : "",
      "; paths ending in .cbor are read as CBOR, others as JSON");
  return doc;
}

// ---- reading the document
// ----------------------------------------------------

/// Model tensors decoded from one section ("params" or "buffers").
void read_section(
    const json& doc,
    const char* section,
    const nn::NamedTensors& mine,
    const LoadOptions& options,
    nn::NamedTensors& out,
    std::vector<std::string>& missing,
    std::vector<std::string>& unexpected,
    Problems& problems) {
  const auto it = doc.find(section);
  if (it == doc.end())
    return;  // reported with the top-level keys
  if (!it->is_object()) {
    problems.add(
        std::string(section) + ": must be an object of tensors by name (got " +
        it->type_name() + ")");
    return;
  }
  std::unordered_map<std::string, bool> known;
  for (const auto& [n, t] : mine) {
    known[n] = true;
    const auto e = it->find(n);
    if (e == it->end()) {
      missing.push_back(n);
      if (options.strict)
        problems.add(std::string(section) + ": missing " + quote(n));
      continue;
    }
    Tensor v = decode_tensor(
        *e, std::string(section) + "." + n, &t, options.allow_nonfinite,
        problems);
    if (v.defined())
      out.emplace_back(n, std::move(v));
  }
  for (const auto& [k, v] : it->items())
    if (!known.count(k)) {
      unexpected.push_back(k);
      if (options.strict)
        problems.add(
            std::string(section) + ": unexpected " + quote(k) +
            " (the model has no such " +
            (std::string(section) == "params" ? "parameter" : "buffer") + ")");
    }
}

/// The optimizer section as an OptimizerStateDict (structure and tensors
/// checked here; semantics by Optimizer::check_state_dict).
optim::OptimizerStateDict read_optimizer(
    const json& j,
    const nn::NamedTensors& model_params,
    const LoadOptions& options,
    Problems& problems) {
  optim::OptimizerStateDict sd;
  if (!j.is_object()) {
    problems.add(
        std::string("optimizer: must be an object (got ") + j.type_name() +
        ")");
    return sd;
  }
  for (const auto& [k, v] : j.items())
    if (k != "type" && k != "param_groups" && k != "state")
      problems.add("optimizer: unexpected key " + quote(k));
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string())
    problems.add("optimizer.type: must be a string such as \"Adam\"");
  else
    sd.type = type->get<std::string>();

  const auto groups = j.find("param_groups");
  if (groups == j.end() || !groups->is_array()) {
    problems.add("optimizer.param_groups: must be an array");
  } else {
    for (size_t gi = 0; gi < groups->size(); ++gi) {
      const json& g = (*groups)[gi];
      const std::string where =
          "optimizer.param_groups[" + std::to_string(gi) + "]";
      optim::OptimizerStateDict::Group group;
      const auto params =
          g.is_object() ? g.find("params") : json::const_iterator();
      if (!g.is_object() || params == g.end() || !params->is_array()) {
        problems.add(where + ": must be an object with a \"params\" array");
        continue;
      }
      for (const auto& p : *params) {
        if (!p.is_string()) {
          problems.add(where + ".params: names must be strings");
          break;
        }
        group.params.push_back(p.get<std::string>());
      }
      group.options = g;
      group.options.erase("params");
      sd.param_groups.push_back(std::move(group));
    }
  }

  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : model_params)
    by_name.emplace(n, &t);
  const auto state = j.find("state");
  if (state == j.end() || !state->is_object()) {
    problems.add("optimizer.state: must be an object keyed by parameter name");
    return sd;
  }
  for (const auto& [pname, entry] : state->items()) {
    const std::string where = "optimizer.state[" + quote(pname) + "]";
    optim::ParamState st;
    if (!entry.is_object()) {
      problems.add(where + ": must be an object");
      continue;
    }
    const auto param = by_name.find(pname);
    for (const auto& [k, v] : entry.items()) {
      if (k == "step") {
        if (!v.is_number_unsigned() ||
            v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
          problems.add(
              where + ".step: must be an integer >= 0 (got " + brief(v) + ")");
        else
          st.step = v.get<int64_t>();
      } else if (param == by_name.end()) {
        // The optimizer check reports the unknown name; decode nothing.
      } else {
        st.buffers.emplace(
            k, decode_tensor(
                   v, where + "." + k, param->second, options.allow_nonfinite,
                   problems));
      }
    }
    if (!entry.contains("step"))
      problems.add(where + ": missing \"step\"");
    sd.state.emplace(pname, std::move(st));
  }
  return sd;
}

void check_metadata(const json& j, size_t depth, const std::string& where) {
  VOXGRAD_CHECK(
      depth <= kMaxMetadataDepth, "save: metadata nests deeper than ",
      kMaxMetadataDepth, " levels at ", where);
  switch (j.type()) {
    case json::value_t::binary:
      VOXGRAD_FAIL(
          "save: metadata", where,
          " is a binary value; JSON text cannot hold "
          "it (store it as base64 text)");
    case json::value_t::number_float:
      VOXGRAD_CHECK(
          std::isfinite(j.get<double>()), "save: metadata", where, " is ",
          j.get<double>(), "; JSON has no inf or NaN (store it as a string)");
      break;
    case json::value_t::object:
      for (const auto& [k, v] : j.items())
        check_metadata(v, depth + 1, where + "." + k);
      break;
    case json::value_t::array:
      for (size_t i = 0; i < j.size(); ++i)
        check_metadata(j[i], depth + 1, where + "[" + std::to_string(i) + "]");
      break;
    default:
      break;
  }
}

bool is_cbor_path(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension().string();
  std::string lower;
  for (char c : ext)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == ".cbor";
}

// ---- files
// ---------------------------------------------------------------------

std::vector<uint8_t> read_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  VOXGRAD_CHECK(
      fd >= 0, "load(", quote(path), "): cannot open: ", errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() {
      ::close(fd);
    }
  } closer{fd};
  struct stat st {};
  VOXGRAD_CHECK(
      ::fstat(fd, &st) == 0, "load(", quote(path),
      "): cannot stat: ", errno_text(errno));
  VOXGRAD_CHECK(
      S_ISREG(st.st_mode), "load(", quote(path),
      "): not a regular file (a checkpoint is a file saved by voxgrad::save)");
  std::vector<uint8_t> buf(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    VOXGRAD_CHECK(
        n >= 0, "load(", quote(path), "): read failed after ", got,
        " bytes: ", errno_text(errno));
    if (n == 0)
      break;  // the file shrank meanwhile: parse what is there
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

void write_atomically(const std::string& path, std::span<const uint8_t> data) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string base = target.filename().string();
  VOXGRAD_CHECK(
      !base.empty() && base != "." && base != "..", "save(", quote(path),
      "): the path names a folder, not a file");
  const fs::path dir =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 1000 && fd < 0; ++attempt) {
    tmp = (dir / ("." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++)))
              .string();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    VOXGRAD_CHECK(
        fd >= 0 || errno == EEXIST, "save(", quote(path),
        "): cannot create a temp file in ", quote(dir.string()), ": ",
        errno_text(errno));
  }
  VOXGRAD_CHECK(
      fd >= 0, "save(", quote(path), "): no free temp file name in the folder");
  const auto fail = [&](const char* what) {
    const int e = errno;
    if (fd >= 0)
      ::close(fd);
    ::unlink(tmp.c_str());
    VOXGRAD_FAIL(
        "save(", quote(path), "): ", what, " ", quote(tmp), ": ", errno_text(e),
        "; the previous checkpoint is unchanged");
  };
  size_t done = 0;
  while (done < data.size()) {
    const size_t chunk = std::min(kChunk, data.size() - done);
    size_t sent = 0;
    while (sent < chunk) {
      const ssize_t n = ::write(fd, data.data() + done + sent, chunk - sent);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        fail("cannot write");
      sent += static_cast<size_t>(n);
    }
    done += chunk;
    if (g_write_hook)
      g_write_hook(tmp, done, data.size());
  }
  if (::fsync(fd) != 0)
    fail("cannot fsync");
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0)
    fail("cannot close");
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail("cannot rename over the target");
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int r = ::fsync(dfd);
    const int e = errno;
    ::close(dfd);
    VOXGRAD_CHECK(
        r == 0 || e == EINVAL || e == EROFS, "save(", quote(path),
        "): written, but cannot fsync the folder: ", errno_text(e));
  }
}

}  // namespace

// ---- detail
// ----------------------------------------------------------------------

namespace detail {

void set_checkpoint_write_hook(CheckpointWriteHook hook) {
  g_write_hook = hook;
}

std::string base64_encode(std::span<const uint8_t> bytes) {
  static const char* alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(base64_length(bytes.size()));
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) |
                       (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) |
                       (rest == 2 ? uint32_t{bytes[i + 1]} << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::vector<uint8_t>& out) {
  if (text.size() % 4 != 0)
    return false;
  size_t n = text.size() / 4 * 3;
  if (!text.empty() && text.back() == '=')
    n -= (text[text.size() - 2] == '=') ? 2 : 1;
  out.assign(n, 0);
  return base64_length(n) == text.size() &&
         base64_decode_into(text, out.data(), n);
}

std::string checkpoint_checksum(const json& doc) {
  // Streams exactly what doc.dump() would print for the object without its
  // "checksum" key (keys in order, compact), without building that copy.
  Fnv1aBuf buf;
  std::ostream os(&buf);
  try {
    if (doc.is_object()) {
      os << '{';
      bool first = true;
      for (const auto& [k, v] : doc.items()) {
        if (k == "checksum")
          continue;
        os << (first ? "" : ",") << json(k) << ':' << v;
        first = false;
      }
      os << '}';
    } else {
      os << doc;
    }
  } catch (const json::exception& e) {
    VOXGRAD_FAIL("checkpoint: cannot serialise the document: ", e.what());
  }
  return "fnv1a64:" + hex64(buf.hash);
}

json checkpoint_document(
    const nn::Module& model,
    const optim::Optimizer* opt,
    const json& metadata) {
  VOXGRAD_CHECK(
      metadata.is_object() || metadata.is_null(),
      "save: metadata must be a JSON object (got ", metadata.type_name(), ")");
  check_metadata(metadata, 0, "");
  json doc = json::object();
  doc["format"] = kFormat;
  doc["version"] = kVersion;
  json& params = doc["params"] = json::object();
  for (const auto& [n, t] : model.named_parameters())
    params[n] = encode_tensor(t);
  json& buffers = doc["buffers"] = json::object();
  for (const auto& [n, t] : model.named_buffers())
    buffers[n] = encode_tensor(t);
  doc["optimizer"] = nullptr;
  if (opt != nullptr) {
    const auto sd = opt->state_dict(model.named_parameters());
    json o = {
        {"type", sd.type},
        {"param_groups", json::array()},
        {"state", json::object()}};
    for (const auto& g : sd.param_groups) {
      json group = g.options;
      group["params"] = g.params;
      o["param_groups"].push_back(std::move(group));
    }
    for (const auto& [n, st] : sd.state) {
      json s = {{"step", st.step}};
      for (const auto& [b, t] : st.buffers)
        s[b] = encode_tensor(t);
      o["state"][n] = std::move(s);
    }
    doc["optimizer"] = std::move(o);
  }
  doc["metadata"] = metadata.is_null() ? json::object() : metadata;
  return doc;
}

json load_from_bytes(
    std::span<const uint8_t> bytes,
    bool cbor,
    std::string_view name,
    nn::Module& model,
    optim::Optimizer* opt,
    const LoadOptions& options) {
  json doc = parse_document(bytes, cbor, name);
  Problems problems;
  if (!doc.is_object()) {
    problems.add(
        std::string("the document must be an object (got ") + doc.type_name() +
        ")");
    problems.raise(name);
  }
  // Top level.
  static const char* keys[] = {"format",    "version",  "params",  "buffers",
                               "optimizer", "metadata", "checksum"};
  for (const char* k : keys)
    if (!doc.contains(k))
      problems.add(std::string("missing top-level key '") + k + "'");
  for (const auto& item : doc.items()) {
    const std::string& k = item.key();
    if (std::find(std::begin(keys), std::end(keys), k) == std::end(keys))
      problems.add("unexpected top-level key " + quote(k));
  }
  if (const auto f = doc.find("format"); f != doc.end() && *f != kFormat)
    problems.add(
        "format is " + brief(*f) + ", expected \"" + kFormat +
        "\" (is this a voxgrad checkpoint?)");
  if (const auto v = doc.find("version");
      v != doc.end() &&
      !(v->is_number_unsigned() && v->get<uint64_t>() == kVersion))
    problems.add(
        "version " + brief(*v) + " is not supported (this build reads " +
        "version " + std::to_string(kVersion) + ")");
  if (const auto c = doc.find("checksum"); c != doc.end()) {
    std::string actual;
    try {
      actual = checkpoint_checksum(doc);
    } catch (const Error&) {
      problems.add("a string is not valid UTF-8");
    }
    if (!c->is_string())
      problems.add("checksum must be a string (got " + brief(*c) + ")");
    else if (!actual.empty() && *c != actual)
      problems.add(
          "checksum mismatch: the file says " + brief(*c) +
          ", its content hashes to \"" + actual +
          "\" (the file is corrupt or was edited)");
  }
  const auto meta = doc.find("metadata");
  if (meta != doc.end() && !meta->is_object())
    problems.add(
        std::string("metadata must be an object (got ") + meta->type_name() +
        ")");

  // Model tensors, checked against the model before anything is allocated.
  nn::NamedTensors decoded;
  nn::LoadResult skipped;
  const nn::NamedTensors params = model.named_parameters();
  read_section(
      doc, "params", params, options, decoded, skipped.missing_keys,
      skipped.unexpected_keys, problems);
  read_section(
      doc, "buffers", model.named_buffers(), options, decoded,
      skipped.missing_keys, skipped.unexpected_keys, problems);

  // Optimizer.
  optim::OptimizerStateDict sd;
  if (opt != nullptr) {
    const auto o = doc.find("optimizer");
    if (o != doc.end() && o->is_null()) {
      problems.add(
          "optimizer: the file holds no optimizer state, but an optimizer "
          "was passed (pass nullptr to load the model only)");
    } else if (o != doc.end()) {
      sd = read_optimizer(*o, params, options, problems);
      for (const auto& p : opt->check_state_dict(sd, params))
        problems.add("optimizer: " + p);
    }
  }
  if (!problems.empty())
    problems.raise(name);

  // Everything checked: apply.
  model.load_state_dict(decoded, options.strict);
  if (opt != nullptr)
    opt->load_state_dict(sd, params);
  if (options.result != nullptr)
    *options.result = std::move(skipped);
  return std::move(*meta);
}

}  // namespace detail

namespace {

bool base64_decode_into(std::string_view text, uint8_t* out, size_t nbytes) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (text.size() != base64_length(nbytes))
    return false;
  const size_t full = nbytes / 3;
  size_t o = 0;
  for (size_t q = 0; q < full; ++q) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int8_t d = table[static_cast<unsigned char>(text[4 * q + k])];
      if (d < 0)
        return false;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out[o++] = static_cast<uint8_t>(v >> 16);
    out[o++] = static_cast<uint8_t>(v >> 8);
    out[o++] = static_cast<uint8_t>(v);
  }
  const size_t rest = nbytes - 3 * full;
  if (rest == 0)
    return true;
  const std::string_view last = text.substr(4 * full, 4);
  const int8_t a = table[static_cast<unsigned char>(last[0])];
  const int8_t b = table[static_cast<unsigned char>(last[1])];
  if (a < 0 || b < 0 || last[3] != '=')
    return false;
  if (rest == 1) {
    // "xy==": the low 4 bits of y must be zero (canonical form).
    if (last[2] != '=' || (b & 15) != 0)
      return false;
    out[o] = static_cast<uint8_t>((a << 2) | (b >> 4));
    return true;
  }
  const int8_t c = table[static_cast<unsigned char>(last[2])];
  if (c < 0 || (c & 3) != 0)
    return false;
  out[o++] = static_cast<uint8_t>((a << 2) | (b >> 4));
  out[o] = static_cast<uint8_t>(((b & 15) << 4) | (c >> 2));
  return true;
}

}  // namespace

// ---- public
// --------------------------------------------------------------------

void save(
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt,
    const nlohmann::json& metadata) {
  json doc = detail::checkpoint_document(model, opt, metadata);
  try {
    doc["checksum"] = detail::checkpoint_checksum(doc);
  } catch (const Error& e) {
    VOXGRAD_FAIL("save(", quote(path), "): ", e.what());
  }
  if (is_cbor_path(path)) {
    const std::vector<uint8_t> bytes = json::to_cbor(doc);
    write_atomically(path, bytes);
  } else {
    std::string text;
    try {
      text = doc.dump();
    } catch (const json::exception& e) {
      VOXGRAD_FAIL("save(", quote(path), "): ", e.what());
    }
    write_atomically(
        path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
}

nlohmann::json load(
    const std::string& path,
    nn::Module& model,
    optim::Optimizer* opt,
    const LoadOptions& options) {
  const std::vector<uint8_t> bytes = read_file(path);
  return detail::load_from_bytes(
      bytes, is_cbor_path(path), path, model, opt, options);
}

}  // namespace voxgrad
