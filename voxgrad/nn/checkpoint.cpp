// Checkpoint save/load: the document's layout and the validation of its
// sections. See NOTE [ Checkpoint format, version 1 ] in
// voxgrad/nn/checkpoint.hpp for the document, the encoding and the checksum.
// The pieces live beside this file: checkpoint_codec (tensors, base64),
// checkpoint_checksum, checkpoint_parse (parsing with limits), checkpoint_file
// (reading, atomic writes) and checkpoint_problems (messages).

#include "voxgrad/nn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <new>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "voxgrad/core/mem_overlap.hpp"
#include "voxgrad/core/quote.hpp"
#include "voxgrad/core/utf8.hpp"
#include "voxgrad/nn/checkpoint_codec.hpp"
#include "voxgrad/nn/checkpoint_file.hpp"
#include "voxgrad/nn/checkpoint_parse.hpp"
#include "voxgrad/nn/checkpoint_problems.hpp"
#include "voxgrad/optim/optimizer.hpp"
#include "voxgrad/optim/state_dict.hpp"

namespace voxgrad {

namespace {

using json = nlohmann::json;
using checkpoint_detail::brief;
using checkpoint_detail::decode_tensor;
using checkpoint_detail::encode_tensor;
using checkpoint_detail::is_cbor_path;
using checkpoint_detail::kMaxDepth;
using checkpoint_detail::kMaxDims;
using checkpoint_detail::kMaxValues;
using checkpoint_detail::parse_document;
using checkpoint_detail::Problems;
using checkpoint_detail::quote_key;
using checkpoint_detail::read_file;
using checkpoint_detail::write_atomically;

constexpr const char* kFormat = "voxgrad-checkpoint";
constexpr uint64_t kVersion = 1;
/// The most state tensors an optimizer keeps per parameter (Adam with
/// AMSGrad keeps 3), for max_checkpoint_bytes.
constexpr int kMaxStateBuffers = 4;

// ---- reading the document --------------------------------------------------

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
        problems.add(std::string(section) + ": missing " + quote_key(n));
      continue;
    }
    if (const std::string w = write_problem(t); !w.empty()) {
      problems.add(
          std::string(section) + "." + n + ": the model's tensor is " + w +
          "; nothing can be loaded into it");
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
            std::string(section) + ": unexpected " + quote_key(k) +
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
      problems.add("optimizer: unexpected key " + quote_key(k));
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
    const std::string where = "optimizer.state[" + quote_key(pname) + "]";
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
        // Any float dtype: load_state_dict casts state to its parameter's
        // dtype, as PyTorch's Optimizer.load_state_dict does.
        st.buffers.emplace(
            k, decode_tensor(
                   v, where + "." + k, param->second, options.allow_nonfinite,
                   problems, /*any_float_dtype=*/true));
      }
    }
    if (!entry.contains("step"))
      problems.add(where + ": missing \"step\"");
    sd.state.emplace(pname, std::move(st));
  }
  return sd;
}

/// Throws, naming the JSON path `where`, for anything in `j` that the
/// loader would refuse or could not read back the same: what parse_document
/// and the checksum refuse (nesting, value count, non-finite numbers, binary
/// values, strings that are not UTF-8). `level` is j's nesting level (the
/// root object is 1); `count` counts values as the parser does.
void check_readable(
    const json& j,
    const std::string& where,
    size_t level,
    size_t& count,
    const std::string& who) {
  VOXGRAD_CHECK(
      ++count <= kMaxValues, who, "the document has more than ", kMaxValues,
      " JSON values (load()'s limit), reached at ", where);
  switch (j.type()) {
    case json::value_t::binary:
      VOXGRAD_FAIL(
          who, where,
          " is a binary value; JSON text cannot hold it (store it as base64 "
          "text)");
    case json::value_t::number_float: {
      const double v = j.get<double>();
      VOXGRAD_CHECK(
          std::isfinite(v), who, where, " is ", v,
          "; JSON has no inf or NaN, so load() could not read it back",
          where.rfind("optimizer.", 0) == 0
              ? " (a learning-rate scheduler or set_lr past its range?)"
              : " (store it as a string)");
      break;
    }
    case json::value_t::string: {
      const auto& str = j.get_ref<const std::string&>();
      const size_t bad = utf8_error_offset(str);
      VOXGRAD_CHECK(
          bad == str.size(), who, where, " is a string that is not valid ",
          "UTF-8 (byte ", bad, " of ", quote_key(str), ")");
      break;
    }
    case json::value_t::object:
      VOXGRAD_CHECK(
          level <= kMaxDepth, who, where, " nests deeper than ", kMaxDepth,
          " levels (load()'s limit)");
      for (const auto& [k, v] : j.items()) {
        VOXGRAD_CHECK(
            valid_utf8(k), who, "a key of ", where, " is not valid UTF-8 (",
            quote_key(k), ")");
        check_readable(
            v, where.empty() ? k : where + "." + k, level + 1, count, who);
      }
      break;
    case json::value_t::array:
      VOXGRAD_CHECK(
          level <= kMaxDepth, who, where, " nests deeper than ", kMaxDepth,
          " levels (load()'s limit)");
      for (size_t i = 0; i < j.size(); ++i)
        check_readable(
            j[i], where + "[" + std::to_string(i) + "]", level + 1, count, who);
      break;
    default:
      break;
  }
}

/// Bytes of the JSON text of a tensor object (generously: pretty-printed
/// or ASCII-escaped by another tool), named `name`, of `numel` elements of
/// `item` bytes.
uint64_t tensor_entry_bytes(
    const std::string& name, uint64_t dims, uint64_t numel, uint64_t item) {
  const uint64_t data =
      numel > UINT64_MAX / 16 ? UINT64_MAX / 4 : (numel * item + 2) / 3 * 4;
  return data + 512 + 8 * name.size() + 64 * dims;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/// The document save() writes for `model` and `opt`; every message starts
/// with `who`. Refuses what load() could not read back into the same model
/// and optimizer (see NOTE [ Checkpoint format, version 1 ]).
json build_document(
    const nn::Module& model,
    const optim::Optimizer* opt,
    const json& metadata,
    const std::string& who) {
  VOXGRAD_CHECK(
      metadata.is_object() || metadata.is_null(), who,
      "metadata must be a JSON object (got ", metadata.type_name(), ")");
  json doc = json::object();
  doc["format"] = kFormat;
  doc["version"] = kVersion;
  const nn::NamedTensors params = model.named_parameters();
  auto encode_section = [&](const char* section, const nn::NamedTensors& ts) {
    json out = json::object();
    for (const auto& [n, t] : ts) {
      const std::string where = std::string(section) + "." + n;
      const std::string w = write_problem(t);
      VOXGRAD_CHECK(
          w.empty(), who, where, " is ", w,
          "; load() could not write it back (make it contiguous() first)");
      VOXGRAD_CHECK(
          t.dim() <= static_cast<int64_t>(kMaxDims), who, where, " has ",
          t.dim(), " dimensions ", shape_str(t.shape()),
          "; checkpoints hold at most ", kMaxDims);
      out[n] = encode_tensor(t);
    }
    return out;
  };
  doc["params"] = encode_section("params", params);
  doc["buffers"] = encode_section("buffers", model.named_buffers());
  doc["optimizer"] = nullptr;
  if (opt != nullptr) {
    const auto sd = opt->state_dict(params);
    // What load_state_dict would refuse (options a scheduler drove out of
    // range, ...) is refused here, with the same words.
    const auto problems = opt->check_state_dict(sd, params);
    if (!problems.empty()) {
      std::string msg;
      for (const auto& p : problems)
        msg += "\n  " + p;
      VOXGRAD_FAIL(
          who, "the optimizer's state could not be loaded back (",
          problems.size(), " problem(s)):", msg);
    }
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
  size_t count = 0;
  check_readable(doc, "", 1, count, who);
  // The metadata's share of the load() size limit.
  const std::string meta_text = doc["metadata"].dump();
  VOXGRAD_CHECK(
      meta_text.size() <= kMaxCheckpointMetadataBytes, who, "metadata is ",
      meta_text.size(), " bytes as JSON, more than load() reads (",
      kMaxCheckpointMetadataBytes, ")");
  return doc;
}

/// load_from_bytes after the size check.
json load_document(
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
      problems.add("unexpected top-level key " + quote_key(k));
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
      actual = detail::checkpoint_checksum(doc);
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

/// max_checkpoint_bytes's explanation, for messages.
std::string limit_reason(const LoadOptions& options) {
  if (options.max_bytes != 0)
    return "LoadOptions::max_bytes";
  return std::string(
             "what this model and optimizer can hold in a checkpoint, ") +
         "plus " + std::to_string(kMaxCheckpointMetadataBytes >> 20) +
         " MiB of metadata" +
         (options.strict
              ? ""
              : " and " + std::to_string(kMaxSkippedCheckpointBytes >> 20) +
                    " MiB of tensors skipped without strict") +
         "; LoadOptions::max_bytes raises it";
}

}  // namespace

// ---- detail ----------------------------------------------------------------

namespace detail {

json checkpoint_document(
    const nn::Module& model,
    const optim::Optimizer* opt,
    const json& metadata) {
  return build_document(model, opt, metadata, "save: ");
}

CheckpointMetadata load_from_bytes(
    std::span<const uint8_t> bytes,
    bool cbor,
    std::string_view name,
    nn::Module& model,
    optim::Optimizer* opt,
    const LoadOptions& options) {
  const uint64_t limit = options.max_bytes != 0
                             ? options.max_bytes
                             : max_checkpoint_bytes(model, opt, options.strict);
  VOXGRAD_CHECK(
      bytes.size() <= limit, "load(", quote(name), "): the file has ",
      bytes.size(), " bytes, more than ", limit, " (", limit_reason(options),
      "); nothing was changed");
  try {
    return CheckpointMetadata(
        load_document(bytes, cbor, name, model, opt, options));
  } catch (const std::bad_alloc&) {
    VOXGRAD_FAIL(
        "load(", quote(name), "): out of memory while reading its ",
        bytes.size(), " bytes; nothing was changed");
  }
}

}  // namespace detail

// ---- public ----------------------------------------------------------------

uint64_t max_checkpoint_bytes(
    const nn::Module& model, const optim::Optimizer* opt, bool strict) {
  (void)opt;  // any optimizer's state is bounded below, with or without one
  // Top-level keys, format, checksum, and the metadata save() allows.
  uint64_t total =
      saturating_add(uint64_t{1} << 16, kMaxCheckpointMetadataBytes);
  for (const auto& [n, t] : model.named_parameters()) {
    const auto numel = static_cast<uint64_t>(t.numel());
    const auto dims = static_cast<uint64_t>(t.dim());
    total = saturating_add(
        total, tensor_entry_bytes(n, dims, numel, itemsize(t.dtype())));
    // Optimizer state a file may hold for it, whether or not an optimizer is
    // passed (the section is read either way): up to kMaxStateBuffers float64
    // tensors, its name in a group and as a state key, and the step.
    for (int b = 0; b < kMaxStateBuffers; ++b)
      total = saturating_add(total, tensor_entry_bytes(n, dims, numel, 8));
    total = saturating_add(total, 16 * n.size() + 256);
  }
  for (const auto& [n, t] : model.named_buffers())
    total = saturating_add(
        total, tensor_entry_bytes(
                   n, static_cast<uint64_t>(t.dim()),
                   static_cast<uint64_t>(t.numel()), itemsize(t.dtype())));
  if (!strict)
    total = saturating_add(total, kMaxSkippedCheckpointBytes);
  return total;
}

void save(
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt,
    const nlohmann::json& metadata) {
  const std::string who = "save: cannot write " + quote(path) + ": ";
  json doc = build_document(model, opt, metadata, who);
  doc["checksum"] = detail::checkpoint_checksum(doc);  // checked: UTF-8 etc.
  std::vector<uint8_t> cbor;
  std::string text;
  std::span<const uint8_t> bytes;
  if (is_cbor_path(path)) {
    cbor = json::to_cbor(doc);
    bytes = cbor;
  } else {
    text = doc.dump();
    bytes = {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
  }
  // build_document kept every part within load()'s limit; make sure.
  const uint64_t limit = max_checkpoint_bytes(model, opt, true);
  VOXGRAD_CHECK(
      bytes.size() <= limit, who, "the checkpoint would have ", bytes.size(),
      " bytes, more than load() reads for this model (", limit, ")");
  write_atomically(path, bytes);
}

void save(
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt) {
  save(path, model, opt, json::object());
}

CheckpointMetadata load(
    const std::string& path,
    nn::Module& model,
    optim::Optimizer* opt,
    const LoadOptions& options) {
  const uint64_t limit = options.max_bytes != 0
                             ? options.max_bytes
                             : max_checkpoint_bytes(model, opt, options.strict);
  const std::vector<uint8_t> bytes =
      read_file(path, limit, limit_reason(options));
  return detail::load_from_bytes(
      bytes, is_cbor_path(path), path, model, opt, options);
}

}  // namespace voxgrad
