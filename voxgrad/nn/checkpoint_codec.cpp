// Checkpoint tensors: strict base64 and the tensor objects built from it.
// See NOTE [ Checkpoint format, version 1 ] in voxgrad/nn/checkpoint.hpp for
// why the data are bytes and not decimal numbers.

#include "voxgrad/nn/checkpoint_codec.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/optim/optimizer.hpp"

namespace voxgrad {

namespace {

using json = nlohmann::json;

// ---- base64 ----------------------------------------------------------------

size_t base64_length(size_t nbytes) {
  return (nbytes + 2) / 3 * 4;
}

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

namespace detail {

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

}  // namespace detail

// ---- tensors ---------------------------------------------------------------

namespace {

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

}  // namespace

namespace checkpoint_detail {

json encode_tensor(const Tensor& t) {
  VOXGRAD_CHECK(
      t.dim() <= static_cast<int64_t>(kMaxDims), "a tensor of ", t.dim(),
      " dimensions ", shape_str(t.shape()), "; checkpoints hold at most ",
      kMaxDims);
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

Tensor decode_tensor(
    const json& j,
    const std::string& where,
    const Tensor* expect,
    bool allow_nonfinite,
    Problems& problems,
    bool any_float_dtype) {
  if (!j.is_object()) {
    problems.add(
        where + ": must be a tensor {\"shape\", \"dtype\", \"data\"} (got " +
        j.type_name() + ")");
    return {};
  }
  bool ok = true;
  for (const auto& [k, v] : j.items())
    if (k != "shape" && k != "dtype" && k != "data") {
      problems.add(where + ": unexpected key " + quote_key(k));
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
  if (expect != nullptr && (shape != expect->shape() ||
                            (dtype != expect->dtype() && !any_float_dtype))) {
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
  auto* bytes = static_cast<uint8_t*>(t.mutable_raw_data());
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

}  // namespace checkpoint_detail
}  // namespace voxgrad
