// NumPy .npy reading and writing.
//
// NOTE [ The .npy format as read here ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A file is: the magic "\x93NUMPY"; the version as two bytes, (1, 0), (2, 0)
// or (3, 0); the header length, unsigned little-endian, 2 bytes in 1.0 and
// 4 bytes in 2.0/3.0; the header; the data. The header is a Python dict
// literal, latin-1 (1.0, 2.0) or UTF-8 (3.0), that numpy.load reads with
// ast.literal_eval, so the reader here accepts that grammar as NumPy writes
// and reads it, not one byte layout:
//   * keys in any order, each exactly once: 'descr', 'fortran_order',
//     'shape' (NumPy refuses any other key; a repeated key is refused here,
//     where Python would keep the last);
//   * strings in single or double quotes (no escapes: no descr needs one);
//   * True / False for fortran_order (not 0 / 1, as NumPy);
//   * shape a tuple of non-negative Python ints: (), (5,), (2, 3), (2, 3,);
//     decimal digits with Python's single underscores between them (1_000);
//     not (5) (an int), [5] (a list), 3.9, -1, True or 2junk;
//   * an optional trailing comma; spaces, tabs and newlines between tokens,
//     and NumPy's padding after the closing brace.
// descr is looked up in kDtypes: little-endian float32 '<f4' and float64
// '<f8'. The byte-order mark must be '<': '=' (native) and '|' (not
// applicable) say nothing about the byte order of a multi-byte float, and
// '>' (big-endian) is not supported; each is refused with that reason.
// Every count is checked with overflow-safe arithmetic before anything is
// allocated: the header length against the file size and a 64 KiB limit
// (NumPy itself reads at most 10000 bytes by default), at most 32 extents
// (NumPy's limit), each < 2^63, their product, the byte count, and that the
// data fill the rest of the file exactly (NumPy ignores trailing bytes; here
// they are an error, as they mean the header and the data disagree).

#include "voxgrad/core/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/core/checked.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/core/utf8.hpp"

namespace voxgrad {

namespace {

constexpr std::array<uint8_t, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 16;
constexpr size_t kMaxDims = 32;
/// numpy.save pads the header with this many spare digits for the first
/// extent (GROWTH_AXIS_MAX_DIGITS), so the array can grow in place.
constexpr size_t kGrowthDigits = 21;
/// numpy.save aligns the data to this many bytes (ARRAY_ALIGN).
constexpr size_t kAlign = 64;

/// The element types read and written: descr as NumPy spells it. A new dtype
/// is one line here (e.g. {"<i8", kInt64}).
struct DtypeEntry {
  std::string_view descr;
  Dtype dtype;
};
constexpr DtypeEntry kDtypes[] = {{"<f4", kFloat32}, {"<f8", kFloat64}};

std::string supported_descrs() {
  std::string s;
  for (const auto& e : kDtypes)
    s += (s.empty() ? "'" : ", '") + std::string(e.descr) + "' (" +
         dtype_name(e.dtype) + ")";
  return s;
}

std::string_view descr_of(Dtype dt) {
  for (const auto& e : kDtypes)
    if (e.dtype == dt)
      return e.descr;
  VOXGRAD_FAIL("save_npy: no .npy descr for dtype ", dtype_name(dt));
}

[[noreturn]] void refuse(std::string_view name, const std::string& why) {
  VOXGRAD_FAIL("load_npy: ", quote(name), ": ", why);
}

uint64_t le_uint(std::span<const uint8_t> b) {
  uint64_t v = 0;
  for (size_t i = b.size(); i-- > 0;)
    v = (v << 8) | b[i];
  return v;
}

// ---- the header's dict literal ---------------------------------------------

/// A recursive-descent reader of the header dict (grammar in NOTE [ The .npy
/// format as read here ]). Each error names the field, shows what is there
/// and says the rule.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view name)
      : s_(text), name_(name) {}

  void parse(NpyHeader& h) {
    skip_ws();
    expect('{', "the header must be a Python dict literal starting with '{'");
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    while (peek() != '}') {
      const size_t key_at = pos_;
      const std::string key = string_literal("a key");
      skip_ws();
      expect(':', "expected ':' after the key " + quote(key));
      skip_ws();
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &have_descr;
        h.dtype = descr();
      } else if (key == "fortran_order") {
        seen = &have_order;
        h.fortran_order = boolean("fortran_order");
      } else if (key == "shape") {
        seen = &have_shape;
        h.shape = shape();
      } else {
        fail_at(
            key_at, "unexpected key " + quote(key) +
                        " (a .npy header has exactly the keys 'descr', "
                        "'fortran_order' and 'shape')");
      }
      if (*seen)
        fail_at(key_at, "the key " + quote(key) + " appears twice");
      *seen = true;
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        skip_ws();
      } else if (peek() != '}') {
        fail("expected ',' or '}' after the value of " + quote(key));
      }
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != s_.size())
      fail("unexpected text after the closing '}'");
    for (const auto& [have, key] :
         {std::pair{have_descr, "descr"},
          std::pair{have_order, "fortran_order"},
          std::pair{have_shape, "shape"}})
      if (!have)
        refuse(
            name_, std::string("header: missing the key '") + key +
                       "' (a .npy header has exactly the keys 'descr', "
                       "'fortran_order' and 'shape')");
  }

 private:
  char peek() const {
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  }
  void skip_ws() {
    while (pos_ < s_.size() && is_ws(s_[pos_]))
      ++pos_;
  }
  /// Up to 40 bytes of the header from `at`, for messages.
  std::string excerpt(size_t at) const {
    if (at >= s_.size())
      return "the end of the header";
    return quote(s_.substr(at), 40);
  }
  [[noreturn]] void fail_at(size_t at, const std::string& why) const {
    refuse(
        name_, "header byte " + std::to_string(at) + ": " + why + "; found " +
                   excerpt(at));
  }
  [[noreturn]] void fail(const std::string& why) const {
    fail_at(pos_, why);
  }
  void expect(char c, const std::string& why) {
    if (peek() != c || pos_ >= s_.size())
      fail(why);
    ++pos_;
  }
  /// The extent of a token (for messages): up to a delimiter.
  std::string_view token_at(size_t at) const {
    size_t end = at;
    while (end < s_.size() && !is_ws(s_[end]) && s_[end] != ',' &&
           s_[end] != ')' && s_[end] != '}' && s_[end] != ':')
      ++end;
    return s_.substr(at, end - at);
  }

  std::string string_literal(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"')
      fail(std::string("expected ") + what + " in quotes");
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\')
        fail("escape sequences in strings are not supported");
      if (s_[pos_] == '\n' || s_[pos_] == '\r')
        fail("a string may not span lines");
      ++pos_;
    }
    if (pos_ >= s_.size())
      fail_at(start - 1, "unterminated string");
    return std::string(s_.substr(start, pos_++ - start));
  }

  Dtype descr() {
    const size_t at = pos_;
    if (peek() != '\'' && peek() != '"')
      fail_at(
          at,
          "'descr' must be a string such as '<f4' (structured dtypes, "
          "lists, are not supported)");
    const std::string d = string_literal("the 'descr' string");
    for (const auto& e : kDtypes)
      if (d == e.descr)
        return e.dtype;
    std::string why = "'descr' is " + quote(d) + ", not a supported dtype (" +
                      supported_descrs() + ")";
    // A supported type with another byte-order mark, or none: say why.
    auto supported = [](const std::string& descr) {
      for (const auto& e : kDtypes)
        if (descr == e.descr)
          return true;
      return false;
    };
    const char mark = d.empty() ? '\0' : d[0];
    if ((mark == '=' || mark == '|') && supported("<" + d.substr(1)))
      why += "; '" + d.substr(0, 1) +
             "' does not say the byte order of a multi-byte number, so it "
             "is ambiguous: write '<" +
             d.substr(1) + "'";
    else if (mark == '>' && supported("<" + d.substr(1)))
      why +=
          "; big-endian data are not supported (save with "
          "arr.astype('<" +
          d.substr(1) + "'))";
    else if (supported("<" + d))
      why += "; descr needs an explicit byte order: '<" + d + "'";
    refuse(name_, "header: " + why);
  }

  bool boolean(const char* key) {
    const size_t at = pos_;
    const std::string_view t = token_at(at);
    if (t == "True" || t == "False") {
      pos_ += t.size();
      return t == "True";
    }
    fail_at(
        at, std::string("'") + key + "' must be True or False (got " +
                quote(t.empty() ? s_.substr(at, 1) : t) + ")");
  }

  /// A non-negative Python int literal: digits, single '_' between digits,
  /// no leading zeros unless all zeros (Python's rules); < 2^63.
  int64_t extent(size_t index) {
    const size_t at = pos_;
    const std::string_view t = token_at(at);
    const std::string where = "'shape' entry " + std::to_string(index);
    if (t == "True" || t == "False")
      fail_at(at, where + " is a boolean, not an integer");
    if (!t.empty() && t[0] == '-')
      fail_at(at, where + " " + quote(t) + " is negative");
    bool ok = !t.empty() && t.front() != '_' && t.back() != '_';
    bool nonzero = false, leading_zero = false;
    uint64_t v = 0;
    bool overflow = false;
    for (size_t i = 0; ok && i < t.size(); ++i) {
      const char c = t[i];
      if (c == '_') {
        ok = t[i - 1] != '_';
        continue;
      }
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      if (!nonzero && c == '0' && i == 0 && t.size() > 1)
        leading_zero = true;
      nonzero = nonzero || c != '0';
      const auto d = static_cast<uint64_t>(c - '0');
      if (v > (uint64_t{INT64_MAX} - d) / 10)
        overflow = true;
      else
        v = v * 10 + d;
    }
    if (!ok)
      fail_at(
          at, where + " " + quote(t) +
                  " is not an integer (a shape is a tuple of Python ints "
                  "such as (2, 3))");
    if (leading_zero && nonzero)
      fail_at(
          at, where + " " + quote(t) +
                  " has a leading zero (not a Python int literal)");
    if (overflow)
      fail_at(at, where + " " + quote(t) + " is larger than 2^63 - 1");
    pos_ += t.size();
    return static_cast<int64_t>(v);
  }

  Shape shape() {
    const size_t open = pos_;
    if (peek() != '(')
      fail(
          "'shape' must be a tuple such as (2, 3), (5,) or () (got " +
          excerpt(pos_) + ")");
    ++pos_;
    Shape out;
    bool comma_after_last = false;
    skip_ws();
    while (peek() != ')') {
      if (pos_ >= s_.size())
        fail_at(open, "'shape' tuple is not closed");
      if (out.size() == kMaxDims)
        fail_at(
            open, "'shape' has more than " + std::to_string(kMaxDims) +
                      " extents (NumPy's limit)");
      out.push_back(extent(out.size()));
      skip_ws();
      comma_after_last = peek() == ',';
      if (comma_after_last) {
        ++pos_;
        skip_ws();
      } else if (peek() != ')') {
        fail("expected ',' or ')' in 'shape'");
      }
    }
    ++pos_;  // ')'
    if (out.size() == 1 && !comma_after_last)
      fail_at(
          open, "'shape' (" + std::to_string(out[0]) +
                    ") is an int, not a tuple; a 1-d shape is written (" +
                    std::to_string(out[0]) + ",)");
    return out;
  }

  std::string_view s_;
  std::string_view name_;
  size_t pos_ = 0;
};

// ---- whole files
// --------------------------------------------------------------

/// Byte-swaps elements in place on big-endian hosts (.npy data here are LE).
void to_from_little_endian(uint8_t* bytes, uint64_t nbytes, size_t item) {
  if constexpr (std::endian::native == std::endian::big) {
    for (uint64_t i = 0; i + item <= nbytes; i += item)
      std::reverse(bytes + i, bytes + i + item);
  } else {
    (void)bytes, (void)nbytes, (void)item;
  }
}

/// The tensor a checked header describes, its data filled by `fill(dst)`.
template <class Fill>
Tensor make_tensor(const NpyHeader& h, Fill&& fill) {
  // Fortran order is C order of the reversed shape, transposed back.
  Shape stored = h.shape;
  if (h.fortran_order)
    std::reverse(stored.begin(), stored.end());
  Tensor t = empty(stored, h.dtype);
  auto* dst = static_cast<uint8_t*>(t.mutable_raw_data());
  fill(dst);
  to_from_little_endian(dst, h.data_bytes, itemsize(h.dtype));
  if (h.fortran_order && h.shape.size() > 1) {
    std::vector<int64_t> perm(h.shape.size());
    for (size_t i = 0; i < perm.size(); ++i)
      perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm).contiguous();
  }
  return t;
}

std::string errno_text(int e) {
  return std::system_category().message(e);
}

}  // namespace

NpyHeader parse_npy_header(
    std::span<const uint8_t> prefix,
    uint64_t file_size,
    std::string_view name) {
  const uint64_t have = std::min<uint64_t>(prefix.size(), file_size);
  if (have < 8 || !std::equal(kMagic.begin(), kMagic.end(), prefix.begin()))
    refuse(
        name,
        "not a .npy file (it does not start with \"\\x93NUMPY\" and a "
        "version; the file has " +
            std::to_string(file_size) + " bytes)");
  NpyHeader h;
  h.major = prefix[6];
  h.minor = prefix[7];
  if (!((h.major == 1 || h.major == 2 || h.major == 3) && h.minor == 0))
    refuse(
        name, "format version " + std::to_string(h.major) + "." +
                  std::to_string(h.minor) +
                  " is not supported (versions 1.0, 2.0 and 3.0 are)");
  const uint64_t len_bytes = h.major == 1 ? 2 : 4;
  const uint64_t preamble = 8 + len_bytes;
  if (have < preamble)
    refuse(
        name, "the file ends inside the preamble (" +
                  std::to_string(file_size) + " bytes; version " +
                  std::to_string(h.major) + ".0 needs " +
                  std::to_string(preamble) + ")");
  const uint64_t header_len = le_uint(prefix.subspan(8, len_bytes));
  if (header_len == 0)
    refuse(name, "header length is 0 (the header dict is missing)");
  if (header_len > kMaxHeaderBytes)
    refuse(
        name, "header length " + std::to_string(header_len) +
                  " is more than this reader's limit of " +
                  std::to_string(kMaxHeaderBytes) + " bytes");
  h.data_offset = preamble + header_len;  // both small: no overflow
  if (h.data_offset > file_size)
    refuse(
        name, "header length " + std::to_string(header_len) +
                  " runs past the end of the file (" +
                  std::to_string(file_size) + " bytes)");
  if (h.data_offset > have)
    refuse(
        name, "only " + std::to_string(have) +
                  " bytes of the header were given (internal: prefix too "
                  "short)");
  const std::string_view text(
      reinterpret_cast<const char*>(prefix.data() + preamble), header_len);
  if (h.major == 3 && !valid_utf8(text))
    refuse(name, "a version 3.0 header must be UTF-8, and this one is not");
  HeaderParser(text, name).parse(h);

  // Counts, with the shared checked arithmetic, before anything is
  // allocated. Zero extents do not excuse an overflowing product of the
  // others (NumPy refuses such a shape too, and its strides would wrap).
  int64_t nonzero_product = 1;
  bool empty_array = false;
  try {
    for (const int64_t e : h.shape) {
      if (e == 0)
        empty_array = true;
      else
        nonzero_product =
            checked::mul(nonzero_product, e, "load_npy", "element count");
    }
  } catch (const Error&) {
    refuse(
        name, "'shape' " + shape_str(h.shape) +
                  ": the product of the extents overflows int64 (more than "
                  "2^63 - 1 elements)");
  }
  const int64_t numel = empty_array ? 0 : nonzero_product;
  try {
    h.data_bytes = checked::nbytes(numel, itemsize(h.dtype), "load_npy");
  } catch (const Error&) {
    refuse(
        name, "'shape' " + shape_str(h.shape) + ": the byte count overflows (" +
                  std::to_string(numel) + " elements of " +
                  std::to_string(itemsize(h.dtype)) + " bytes exceed " +
                  std::to_string(checked::kMaxBytes) +
                  ", the largest tensor voxgrad allocates)");
  }
  const uint64_t available = file_size - h.data_offset;
  if (available != h.data_bytes)
    refuse(
        name, "the header declares " + std::string(dtype_name(h.dtype)) + " " +
                  shape_str(h.shape) + " (" + std::to_string(h.data_bytes) +
                  " bytes of data), but the file has " +
                  std::to_string(available) + " bytes after the header (" +
                  (available < h.data_bytes ? "truncated?" : "trailing bytes") +
                  ")");
  return h;
}

Tensor load_npy_from_bytes(
    std::span<const uint8_t> bytes, std::string_view name) {
  const NpyHeader h = parse_npy_header(bytes, bytes.size(), name);
  return make_tensor(h, [&](uint8_t* dst) {
    if (h.data_bytes > 0)
      std::memcpy(dst, bytes.data() + h.data_offset, h.data_bytes);
  });
}

Tensor load_npy(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    refuse(path, "cannot open: " + errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() {
      ::close(fd);
    }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    refuse(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode))
    refuse(path, "not a regular file");
  const auto file_size = static_cast<uint64_t>(st.st_size);
  // Read exactly as much as the preamble says the header is (never more than
  // the limit), then the data straight into the tensor.
  auto read_at = [&](uint8_t* dst, uint64_t n, uint64_t offset) {
    uint64_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(
          fd, dst + got, static_cast<size_t>(n - got),
          static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        refuse(
            path, "read failed at byte " + std::to_string(offset + got) + ": " +
                      errno_text(errno));
      if (r == 0)
        refuse(
            path, "the file ended at byte " + std::to_string(offset + got) +
                      ", before its stated size " + std::to_string(file_size) +
                      " (it shrank while being read)");
      got += static_cast<uint64_t>(r);
    }
  };
  std::vector<uint8_t> prefix(
      static_cast<size_t>(std::min<uint64_t>(file_size, 12)));
  read_at(prefix.data(), prefix.size(), 0);
  if (prefix.size() >= 10 && prefix[6] >= 1 && prefix[6] <= 3) {
    const uint64_t len_bytes = prefix[6] == 1 ? 2 : 4;
    const uint64_t header_len =
        le_uint(std::span<const uint8_t>(prefix).subspan(
            8, std::min<uint64_t>(len_bytes, prefix.size() - 8)));
    const uint64_t want = std::min<uint64_t>(
        file_size, 8 + len_bytes + std::min(header_len, kMaxHeaderBytes));
    if (want > prefix.size()) {
      const size_t old = prefix.size();
      prefix.resize(static_cast<size_t>(want));
      read_at(prefix.data() + old, want - old, old);
    }
  }
  const NpyHeader h = parse_npy_header(prefix, file_size, path);
  return make_tensor(
      h, [&](uint8_t* dst) { read_at(dst, h.data_bytes, h.data_offset); });
}

// ---- writing
// ---------------------------------------------------------------------

namespace {

/// The preamble and header numpy.save (1.24) writes for a C-order array.
std::string npy_header(const Shape& shape, Dtype dtype) {
  VOXGRAD_CHECK(
      shape.size() <= kMaxDims, "save_npy: ", shape.size(),
      " dimensions; .npy readers (NumPy and load_npy) take at most ", kMaxDims);
  std::string tuple = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    tuple += (i ? ", " : "") + std::to_string(shape[i]);
  tuple += shape.size() == 1 ? ",)" : ")";
  std::string dict = "{'descr': '" + std::string(descr_of(dtype)) +
                     "', 'fortran_order': False, 'shape': " + tuple + ", }";
  if (!shape.empty())
    dict.append(kGrowthDigits - std::to_string(shape[0]).size(), ' ');
  const size_t hlen = dict.size() + 1;  // + '\n'
  const size_t pad = kAlign - (10 + hlen) % kAlign;
  dict.append(pad, ' ');
  dict += '\n';
  VOXGRAD_ASSERT(dict.size() <= 65535);  // version 1.0's 2-byte length
  std::string out(kMagic.begin(), kMagic.end());
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

/// The data bytes of `c` (contiguous), little-endian.
std::vector<uint8_t> le_data(const Tensor& c) {
  const size_t n = static_cast<size_t>(c.numel()) * itemsize(c.dtype());
  const auto* p = static_cast<const uint8_t*>(c.raw_data());
  std::vector<uint8_t> out(p, p + n);
  to_from_little_endian(out.data(), n, itemsize(c.dtype()));
  return out;
}

}  // namespace

std::vector<uint8_t> npy_bytes(const Tensor& t) {
  VOXGRAD_CHECK(t.defined(), "npy_bytes: the tensor is undefined");
  const Tensor c = t.detach().contiguous();
  const std::string header = npy_header(c.shape(), c.dtype());
  std::vector<uint8_t> out(header.begin(), header.end());
  const std::vector<uint8_t> data = le_data(c);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void save_npy(const std::string& path, const Tensor& t) {
  VOXGRAD_CHECK(
      t.defined(), "save_npy: cannot write ", quote(path),
      ": the tensor is undefined");
  const Tensor c = t.detach().contiguous();
  const std::string header = npy_header(c.shape(), c.dtype());
  AtomicFile f(path, "save_npy");
  f.write(header);
  const size_t n = static_cast<size_t>(c.numel()) * itemsize(c.dtype());
  if constexpr (std::endian::native == std::endian::little) {
    f.write({static_cast<const uint8_t*>(c.raw_data()), n});
  } else {
    f.write(le_data(c));
  }
  f.commit();
}

}  // namespace voxgrad
