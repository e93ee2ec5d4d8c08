// Parsing checkpoints with limits: nlohmann's SAX parser feeding a DOM
// builder that refuses what the format cannot hold and what a hostile file
// would use to exhaust the stack or memory.

#include "voxgrad/nn/checkpoint_parse.hpp"

#include <cmath>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/nn/checkpoint_problems.hpp"

namespace voxgrad {

namespace {

using json = nlohmann::json;
using checkpoint_detail::kMaxDepth;
using checkpoint_detail::kMaxValues;
using checkpoint_detail::quote_key;

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
      return fail("duplicate key " + quote_key(k));
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

}  // namespace

namespace checkpoint_detail {

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
  } catch (const std::bad_alloc&) {
    VOXGRAD_FAIL(
        "load(", quote(name), "): out of memory parsing its ", bytes.size(),
        " bytes; nothing was changed");
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

}  // namespace checkpoint_detail
}  // namespace voxgrad
