// voxgrad::CheckpointMetadata, what load() returns: the metadata JSON behind
// a pointer, so that voxgrad/nn/checkpoint.hpp needs only
// <nlohmann/json_fwd.hpp> and a caller that ignores load()'s result needs no
// JSON header at all (see the class comment there).

#include <ostream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad {

namespace {

// What a moved-from CheckpointMetadata reads as: null, like a moved-from
// nlohmann::json.
const nlohmann::json& null_json() {
  static const nlohmann::json null;
  return null;
}

// "'a', 'b', 'c'" (at most 8 keys, each cut at 40 bytes) for messages.
std::string some_keys(const nlohmann::json& object) {
  std::string out;
  size_t n = 0;
  for (const auto& [key, value] : object.items()) {
    (void)value;
    if (n == 8) {
      out += ", ...";
      break;
    }
    out += (n++ == 0 ? "" : ", ") + quote(key, 40);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

CheckpointMetadata::CheckpointMetadata()
    : value_(std::make_unique<nlohmann::json>(nlohmann::json::object())) {}

CheckpointMetadata::CheckpointMetadata(nlohmann::json value)
    : value_(std::make_unique<nlohmann::json>(std::move(value))) {}

CheckpointMetadata::CheckpointMetadata(const CheckpointMetadata& other)
    : value_(std::make_unique<nlohmann::json>(other.json())) {}

CheckpointMetadata::CheckpointMetadata(CheckpointMetadata&& other) noexcept =
    default;

CheckpointMetadata& CheckpointMetadata::operator=(
    const CheckpointMetadata& other) {
  if (this != &other)
    value_ = std::make_unique<nlohmann::json>(other.json());
  return *this;
}

CheckpointMetadata& CheckpointMetadata::operator=(
    CheckpointMetadata&& other) noexcept = default;

CheckpointMetadata::~CheckpointMetadata() = default;

const nlohmann::json& CheckpointMetadata::json() const& {
  return value_ ? *value_ : null_json();
}

nlohmann::json CheckpointMetadata::json() && {
  return value_ ? std::move(*value_) : nlohmann::json();
}

CheckpointMetadata::operator nlohmann::json() const& {
  return json();
}

CheckpointMetadata::operator nlohmann::json() && {
  return std::move(*this).json();
}

const nlohmann::json& CheckpointMetadata::operator[](
    std::string_view key) const& {
  const nlohmann::json& j = json();
  VOXGRAD_CHECK(
      j.is_object(), "checkpoint metadata[", quote(key, 40),
      "]: the metadata is ", j.type_name(), ", not an object");
  const auto it = j.find(std::string(key));
  VOXGRAD_CHECK(
      it != j.end(), "checkpoint metadata[", quote(key, 40),
      "]: no such key (the metadata has ", some_keys(j),
      "); contains() tells whether a key is there");
  return *it;
}

nlohmann::json CheckpointMetadata::operator[](std::string_view key) && {
  (void)static_cast<const CheckpointMetadata&>(*this)[key];  // checks
  return std::move((*value_)[std::string(key)]);
}

bool CheckpointMetadata::contains(std::string_view key) const {
  const nlohmann::json& j = json();
  return j.is_object() && j.contains(std::string(key));
}

std::string CheckpointMetadata::dump(int indent) const {
  return json().dump(indent);
}

bool operator==(const CheckpointMetadata& meta, const nlohmann::json& value) {
  return meta.json() == value;
}

std::ostream& operator<<(std::ostream& os, const CheckpointMetadata& meta) {
  return os << meta.dump();
}

}  // namespace voxgrad
