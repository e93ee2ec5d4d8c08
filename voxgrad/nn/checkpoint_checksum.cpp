// The checkpoint checksum: FNV-1a 64 of the document's compact dump without
// its "checksum" key. See NOTE [ Checkpoint format, version 1 ] in
// voxgrad/nn/checkpoint.hpp for why it is computed on the parsed value.

#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string>

#include <nlohmann/json.hpp>

#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad {

namespace {

using json = nlohmann::json;

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

}  // namespace

namespace detail {

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

}  // namespace detail
}  // namespace voxgrad
