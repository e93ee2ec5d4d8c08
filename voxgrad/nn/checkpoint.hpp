#pragma once
// Checkpoints: a model's parameters and buffers, an optimizer's state and
// user metadata in one versioned, checksummed document; JSON text, or the
// same document as CBOR when the path ends in ".cbor".
//
// ```cpp
// voxgrad::save("run/ckpt.json", model, &opt, {{"epoch", 3}});
// nlohmann::json meta = voxgrad::load("run/ckpt.json", model, &opt);
// ```
//
// Metadata is an nlohmann::json value, which this header only
// forward-declares (so that nlohmann/json.hpp, ~100k lines, stays out of
// every TU that includes <voxgrad/voxgrad.hpp>). load() returns it as a
// CheckpointMetadata, a complete type holding the JSON behind a pointer, so
// calling load() and ignoring its result, or keeping it in an `auto`
// variable, needs nothing more; so does save() without metadata. A file that
// builds metadata for save() or reads load()'s as JSON (as `nlohmann::json`,
// `meta["epoch"]`) includes <nlohmann/json.hpp>.
//
// NOTE [ Checkpoint format, version 1 ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// ```text
// {"format": "voxgrad-checkpoint", "version": 1,
//  "params":  {"enc.weight": {"shape": [8, 2, 3, 3, 3], "dtype": "f32",
//                             "data": "<base64>"}, ...},
//  "buffers": {...same form...},
//  "optimizer": null | {"type": "Adam",
//      "param_groups": [{"params": ["enc.weight", ...], "lr": 0.001,
//                        "betas": [0.9, 0.999], ..., "initial_lr"?: x}],
//      "state": {"enc.weight": {"step": 10, "exp_avg": {tensor},
//                               "exp_avg_sq": {tensor}}, ...}},
//  "metadata": {...anything the caller passed...},
//  "checksum": "fnv1a64:<16 lowercase hex digits>"}
// ```
//
// * Tensors: "data" is the base64 (RFC 4648, standard alphabet, padded) of
//   the elements' little-endian IEEE-754 bytes in row-major order; dtype is
//   "f32" or "f64". Bytes, not decimal numbers, because (a) every value comes
//   back bit-identical, including -0.0, subnormals, inf and NaN payloads
//   (JSON numbers cannot hold inf/NaN at all, and nlohmann writes them as
//   null), (b) it is ~1.33 bytes per byte instead of ~10-25 characters per
//   number, and parses at memcpy speed, and (c) the exact byte count is
//   known from the string length before anything is allocated. int64
//   tensors (indices, counters) are "i64": little-endian two's complement.
// * Checksum: FNV-1a 64-bit of nlohmann's compact dump() of the document
//   without the "checksum" key (object keys sorted, no whitespace). It is
//   computed on the parsed value, so the JSON and CBOR forms of one
//   checkpoint carry the same checksum, and any change of a single byte of
//   that dump changes the hash (each FNV-1a step is a bijection of the
//   state). It detects corruption; it is no defence against a forger, which
//   is what the loader's validation is for.
// * Loading validates everything before changing anything and reports every
//   problem in one voxgrad::Error: names, shapes, dtypes, that every tensor
//   of the model can be written (not an expanded view), the optimizer's
//   options and state. Input limits (hostile files): the file's size, checked
//   before it is read, against what the model and optimizer can hold
//   (max_checkpoint_bytes); nesting depth 64, 4 Mi JSON values, 16 tensor
//   dimensions; shapes are checked against the data length before
//   allocating. Optimizer state of another float dtype than its parameter is
//   cast to the parameter's dtype (as PyTorch's load_state_dict does).
// * Saving is symmetric with loading: save() refuses, naming the JSON path
//   and the rule, whatever load() would refuse from the same model and
//   optimizer (non-finite or out-of-range optimizer options, e.g. a
//   scheduler's lr of inf; metadata with inf/NaN, binary values, invalid
//   UTF-8, more than kMaxCheckpointMetadataBytes, too deep or too many
//   values; expanded-view tensors; more than 16 dimensions).
// * Saving is atomic (NOTE [ Atomic file writes ] in
//   voxgrad/core/atomic_file.hpp): a temp file in the same folder, fsync,
//   rename over the target, fsync of the folder. A crash at any point leaves
//   either the old or the new checkpoint (plus, after a crash, a stale
//   ".<name>.tmp-*" file; a failure that throws removes it).

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

namespace optim {
class Optimizer;
}

/// How load() treats what it finds.
struct LoadOptions {
  /// Missing and unexpected params/buffers are errors (else they are
  /// skipped and listed in *result when given).
  bool strict = true;
  /// Accept inf and NaN in tensors (else each such tensor is a problem).
  bool allow_nonfinite = false;
  /// When set and !strict, receives the names that were skipped.
  nn::LoadResult* result = nullptr;
  /// The largest file load() reads, checked before reading it. 0 (the
  /// default): max_checkpoint_bytes(model, opt, strict).
  uint64_t max_bytes = 0;
};

/// What load() returns: the metadata save() was given (a JSON object; {}
/// when there was none). The nlohmann::json sits behind a pointer so that
/// this type is complete with <nlohmann/json_fwd.hpp> alone: ignoring
/// load()'s result or keeping it in an `auto` variable compiles without
/// nlohmann/json.hpp, which only reading it as JSON needs. It converts to
/// `nlohmann::json` (`nlohmann::json meta = voxgrad::load(...)`, a move when
/// the result is a temporary), compares with one, and reads a member with
/// `meta["epoch"]`:
/// ```cpp
/// auto meta = voxgrad::load("ckpt.json", model);
/// if (meta.contains("epoch"))
///   std::cout << "epoch " << meta["epoch"].get<int>() << "\n";
/// ```
/// The conversions give a value, not a reference, so that
/// `const nlohmann::json& m = voxgrad::load(...)` binds a temporary the
/// reference keeps alive instead of the inside of a destroyed result.
class CheckpointMetadata {
 public:
  /// An empty object, {}.
  CheckpointMetadata();
  /// Holds `value` (what load() read).
  explicit CheckpointMetadata(nlohmann::json value);
  CheckpointMetadata(const CheckpointMetadata& other);
  CheckpointMetadata(CheckpointMetadata&& other) noexcept;
  CheckpointMetadata& operator=(const CheckpointMetadata& other);
  CheckpointMetadata& operator=(CheckpointMetadata&& other) noexcept;
  ~CheckpointMetadata();

  /// The metadata as JSON (after a move from this object: null).
  const nlohmann::json& json() const&;
  /// The metadata moved out of a temporary (`voxgrad::load(...).json()`).
  nlohmann::json json() &&;
  /// A copy of json(), or the moved value from a temporary.
  operator nlohmann::json() const&;
  operator nlohmann::json() &&;
  /// The member `key` of the metadata object; throws voxgrad::Error naming
  /// the keys there are when it has none (where nlohmann's const
  /// operator[] is undefined behaviour).
  const nlohmann::json& operator[](std::string_view key) const&;
  /// The member `key`, moved out of a temporary.
  nlohmann::json operator[](std::string_view key) &&;
  /// Whether the metadata object has a member `key`.
  bool contains(std::string_view key) const;
  /// The metadata as JSON text: compact, or indented by `indent` spaces
  /// when `indent` >= 0 (nlohmann's dump()).
  std::string dump(int indent = -1) const;

 private:
  std::unique_ptr<nlohmann::json> value_;  // null only after a move
};

/// Whether the metadata equals `value`: `voxgrad::load(...) == json{...}`.
bool operator==(const CheckpointMetadata& meta, const nlohmann::json& value);
/// The metadata as compact JSON text.
std::ostream& operator<<(std::ostream& os, const CheckpointMetadata& meta);

/// The most metadata save() writes and load() reads back, as compact JSON.
inline constexpr uint64_t kMaxCheckpointMetadataBytes = uint64_t{64} << 20;
/// Without strict, load() also reads this much of tensors it then skips.
inline constexpr uint64_t kMaxSkippedCheckpointBytes = uint64_t{1} << 30;

/// The largest checkpoint file load() reads for `model` by default: its
/// parameters and buffers as the format writes them (generously, allowing
/// for pretty-printing), up to four float64 optimizer-state tensors per
/// parameter, kMaxCheckpointMetadataBytes of metadata, and without `strict`
/// kMaxSkippedCheckpointBytes more. save() never writes a larger file.
uint64_t max_checkpoint_bytes(
    const nn::Module& model, const optim::Optimizer* opt, bool strict = true);

/// Writes the checkpoint atomically. Refuses (voxgrad::Error naming the path,
/// the JSON path and the rule, writing nothing) whatever load() could not
/// read back into the same model and optimizer: metadata with binary values,
/// non-finite numbers or invalid UTF-8, or beyond load()'s limits; optimizer
/// options out of range (an lr a scheduler drove to inf).
/// ```cpp
/// voxgrad::save("ckpt.cbor", model, &opt, {{"step", 1000}});
/// ```
void save(
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt,
    const nlohmann::json& metadata);
/// save() with empty metadata ({}).
void save(
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt = nullptr);

/// Reads, validates, then loads the model (and the optimizer, if given; the
/// file must then hold optimizer state). Returns the metadata. On any
/// problem (including a file larger than options.max_bytes, checked before
/// reading, and running out of memory) throws one voxgrad::Error naming the
/// path and every problem, and changes nothing.
/// ```cpp
/// auto meta = voxgrad::load("ckpt.json", model, &opt);
/// ```
CheckpointMetadata load(
    const std::string& path,
    nn::Module& model,
    optim::Optimizer* opt = nullptr,
    const LoadOptions& options = {});

namespace detail {

/// load() on bytes already in memory; `name` stands for the path in
/// messages. For the fuzzer and the corruption tests.
CheckpointMetadata load_from_bytes(
    std::span<const uint8_t> bytes,
    bool cbor,
    std::string_view name,
    nn::Module& model,
    optim::Optimizer* opt,
    const LoadOptions& options);

/// The document save() would write (before serialisation).
nlohmann::json checkpoint_document(
    const nn::Module& model,
    const optim::Optimizer* opt,
    const nlohmann::json& metadata);

/// "fnv1a64:<hex>" of the document without its "checksum" key.
std::string checkpoint_checksum(const nlohmann::json& doc);

/// Test seam: called by save() after each chunk written to the temp file
/// (never set outside tests; not thread-safe).
using CheckpointWriteHook =
    void (*)(const std::string& temp_path, size_t written, size_t total);
void set_checkpoint_write_hook(CheckpointWriteHook hook);

std::string base64_encode(std::span<const uint8_t> bytes);
/// Strict (canonical) decoding; false on any invalid character, length or
/// non-zero padding bits.
bool base64_decode(std::string_view text, std::vector<uint8_t>& out);

}  // namespace detail
}  // namespace voxgrad

VOXGRAD_PUBLIC_END
