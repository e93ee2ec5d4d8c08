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
#include <unordered_map>

#include "voxgrad/nn/checkpoint_codec.hpp"
#include "voxgrad/nn/checkpoint_file.hpp"
#include "voxgrad/nn/checkpoint_parse.hpp"
#include "voxgrad/nn/checkpoint_problems.hpp"
#include "voxgrad/optim/optimizer.hpp"

namespace voxgrad {

namespace {

using json = nlohmann::json;
using checkpoint_detail::brief;
using checkpoint_detail::decode_tensor;
using checkpoint_detail::encode_tensor;
using checkpoint_detail::is_cbor_path;
using checkpoint_detail::kMaxDepth;
using checkpoint_detail::parse_document;
using checkpoint_detail::Problems;
using checkpoint_detail::quote;
using checkpoint_detail::read_file;
using checkpoint_detail::write_atomically;

constexpr const char* kFormat = "voxgrad-checkpoint";
constexpr uint64_t kVersion = 1;
/// Metadata may nest this deep (it sits two levels below the root).
constexpr size_t kMaxMetadataDepth = kMaxDepth - 2;

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

}  // namespace

// ---- detail ----------------------------------------------------------------

namespace detail {

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

// ---- public ----------------------------------------------------------------

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
