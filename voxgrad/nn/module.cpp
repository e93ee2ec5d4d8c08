#include "voxgrad/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <sstream>
#include <unordered_map>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/nn/any_module.hpp"

namespace voxgrad {
namespace detail {

std::string type_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);  // NOLINT: allocated by __cxa_demangle
  return out;
}

namespace {
/// "voxgrad::nn::Conv3dImpl" -> "Conv3d"; template arguments are kept.
std::string short_name(const std::type_info& type) {
  std::string s = type_name(type);
  // The last "::" outside template arguments starts the class's own name.
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<')
      ++depth;
    else if (s[i] == '>')
      --depth;
    else if (depth == 0 && s[i] == ':' && i + 1 < s.size() && s[i + 1] == ':')
      start = i + 2;
  }
  s = s.substr(start);
  const std::string impl = "Impl";
  if (s.size() > impl.size() &&
      s.compare(s.size() - impl.size(), impl.size(), impl) == 0)
    s.resize(s.size() - impl.size());
  return s;
}
}  // namespace

void throw_empty_holder(const std::type_info& impl) {
  VOXGRAD_FAIL(
      "nn::", short_name(impl), ": this module handle is empty (it was ",
      "default-constructed for a module without a default constructor, or ",
      "set to nullptr); assign it first, e.g. `conv_ = register_module(",
      "\"conv\", nn::Conv3d(options))`");
}

void throw_bad_module_cast(
    const nn::Module& got,
    const std::type_info& want,
    const std::string& where) {
  VOXGRAD_FAIL(
      where, " is a ", got.name(), " (", type_name(typeid(got)),
      "), not the requested ", type_name(want));
}

}  // namespace detail

bool detail::ForwardHookTable::contains(uint64_t id) const {
  auto has = [id](const auto& list) {
    return std::any_of(
        list.begin(), list.end(), [id](const auto& e) { return e.id == id; });
  };
  return has(pre) || has(post);
}

void detail::ForwardHookTable::remove(uint64_t id) {
  auto drop = [id](auto& list) {
    list.erase(
        std::remove_if(
            list.begin(), list.end(),
            [id](const auto& e) { return e.id == id; }),
        list.end());
  };
  drop(pre);
  drop(post);
}

namespace nn {

std::string Module::name() const {
  return detail::short_name(typeid(*this));
}

Tensor AnyModule::forward(const Tensor& x) const {
  VOXGRAD_CHECK(module_ != nullptr, "AnyModule: forward on an empty module");
  // typeid of a named reference, not of *module_: clang warns that the
  // dereference (a shared_ptr operator call) is evaluated inside typeid.
  const Module& held = *module_;
  VOXGRAD_CHECK(
      forward_ != nullptr, module_->name(),
      ": no forward(const Tensor&) returning a Tensor was known when this "
      "module was added (its type then was ",
      detail::type_name(typeid(held)),
      " or a base of it); call its own forward through its type");
  return forward_(*module_, x);
}

std::string Module::extra_repr() const {
  return "";
}

void Module::check_name(const std::string& name, const char* what) const {
  VOXGRAD_CHECK(
      !name.empty(), this->name(), ": ", what, " name must not be empty");
  VOXGRAD_CHECK(
      name.find('.') == std::string::npos, this->name(), ": ", what, " name '",
      name, "' must not contain '.' (dots join nested names)");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& kv) {
      return kv.first == name;
    });
  };
  VOXGRAD_CHECK(
      !taken(params_) && !taken(buffers_) && !taken(children_), this->name(),
      ": name '", name, "' is already registered in this module");
}

Tensor Module::register_parameter(
    const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "parameter");
  VOXGRAD_CHECK(
      t.defined(), this->name(), ": parameter '", name, "' is undefined");
  VOXGRAD_CHECK(
      t.is_leaf(), this->name(), ": parameter '", name,
      "' must be a leaf tensor (pass x.detach())");
  t.requires_grad_(requires_grad);
  params_.emplace_back(name, t);
  return t;
}

void Module::register_parameter(
    const std::string& name, Tensor& member, Tensor t, bool requires_grad) {
  member = register_parameter(name, std::move(t), requires_grad);
  members_.emplace_back(name, &member);
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "buffer");
  VOXGRAD_CHECK(
      t.defined(), this->name(), ": buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t.detach());
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "submodule");
  VOXGRAD_CHECK(m != nullptr, this->name(), ": submodule '", name, "' is null");
  children_.emplace_back(name, std::move(m));
}

namespace {
template <class Get>
NamedTensors collect(const Module& m, bool recurse, Get get) {
  NamedTensors out = get(m);
  if (!recurse)
    return out;
  for (const auto& [cname, child] : m.named_children()) {
    for (auto& [n, t] : collect(*child, true, get))
      out.emplace_back(cname + "." + n, t);
  }
  return out;
}
TensorList values(const NamedTensors& named) {
  TensorList out;
  for (const auto& kv : named)
    out.push_back(kv.second);
  return out;
}
}  // namespace

NamedTensors Module::named_parameters(bool recurse) const {
  return collect(*this, recurse, [](const Module& m) { return m.params_; });
}
TensorList Module::parameters(bool recurse) const {
  return values(named_parameters(recurse));
}
NamedTensors Module::named_buffers(bool recurse) const {
  return collect(*this, recurse, [](const Module& m) { return m.buffers_; });
}
TensorList Module::buffers(bool recurse) const {
  return values(named_buffers(recurse));
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>>
Module::named_children() const {
  return children_;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& kv : children_)
    out.push_back(kv.second);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [cname, child] : children_) {
    for (auto& [n, m] : child->named_modules())
      out.emplace_back(n.empty() ? cname : cname + "." + n, m);
  }
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& kv : children_)
    kv.second->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard guard;
  for (const Tensor& p : parameters()) {
    if (!p.grad().defined())
      continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      p.grad().zero_();
    }
  }
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& kv : children_)
    kv.second->apply(fn);
  fn(*this);
}

void Module::to(Dtype dtype) {
  // As PyTorch's Module.to: floating-point tensors change dtype, int64 ones
  // (indices, counters) keep theirs.
  require_floating(dtype, "Module::to", "the target dtype");
  NoGradGuard guard;
  // Rewrite each TensorImpl in place, so handles held as members (and by
  // optimizers) see the converted tensor.
  auto convert = [dtype](const Tensor& t) {
    if (t.dtype() == dtype || !is_floating_point(t.dtype()))
      return;
    const Tensor c = t.to(dtype);
    TensorImpl& impl = *t.impl();
    impl.storage = c.impl()->storage;
    impl.strides = c.impl()->strides;
    impl.offset = 0;
    impl.dtype = dtype;
    impl.grad = impl.grad.defined() ? impl.grad.to(dtype) : Tensor();
  };
  for (const Tensor& t : parameters())
    convert(t);
  for (const Tensor& t : buffers())
    convert(t);
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& kv : named_buffers())
    out.push_back(kv);
  return out;
}

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
  const NamedTensors mine = state_dict();
  std::unordered_map<std::string, const Tensor*> given;
  std::vector<std::string> problems;
  for (const auto& [n, t] : state) {
    if (!given.emplace(n, &t).second)
      problems.push_back("key '" + n + "' appears twice");
  }
  LoadResult result;
  std::unordered_map<std::string, bool> known;
  for (const auto& [n, t] : mine) {
    known[n] = true;
    const auto it = given.find(n);
    if (it == given.end()) {
      result.missing_keys.push_back(n);
      continue;
    }
    const Tensor& src = *it->second;
    if (!src.defined()) {
      problems.push_back("'" + n + "' is undefined");
    } else if (src.shape() != t.shape()) {
      problems.push_back(
          "'" + n + "' has shape " + shape_str(src.shape()) +
          ", the module expects " + shape_str(t.shape()));
    } else if (src.dtype() != t.dtype()) {
      problems.push_back(
          "'" + n + "' is " + dtype_name(src.dtype()) + ", the module holds " +
          dtype_name(t.dtype()));
    }
  }
  for (const auto& [n, t] : state)
    if (!known.count(n))
      result.unexpected_keys.push_back(n);
  if (strict) {
    for (const auto& k : result.missing_keys)
      problems.push_back("missing key '" + k + "'");
    for (const auto& k : result.unexpected_keys)
      problems.push_back("unexpected key '" + k + "'");
  }
  if (!problems.empty()) {
    std::ostringstream os;
    os << "load_state_dict: " << problems.size()
       << " problem(s), nothing was loaded:";
    for (const auto& p : problems)
      os << "\n  " << p;
    VOXGRAD_FAIL(os.str());
  }
  NoGradGuard guard;
  for (const auto& [n, t] : mine) {
    const auto it = given.find(n);
    if (it != given.end())
      Tensor(t).copy_(*it->second);
  }
  return result;
}

// ---- forward hooks -----------------------------------------------------

void RemovableHandle::remove() {
  if (const auto table = table_.lock())
    table->remove(id_);
  table_.reset();
}

bool RemovableHandle::active() const {
  const auto table = table_.lock();
  return table != nullptr && table->contains(id_);
}

RemovableHandle Module::add_forward_pre_hook(ForwardPreHook hook) {
  VOXGRAD_CHECK(
      hook != nullptr, name(),
      ": register_forward_pre_hook: the hook is empty");
  if (!hooks_)
    hooks_ = std::make_shared<detail::ForwardHookTable>();
  const uint64_t id = hooks_->next_id++;
  hooks_->pre.push_back(
      {id, std::make_shared<const ForwardPreHook>(std::move(hook))});
  return RemovableHandle(hooks_, id);
}

RemovableHandle Module::add_forward_hook(ForwardHook hook) {
  VOXGRAD_CHECK(
      hook != nullptr, name(), ": register_forward_hook: the hook is empty");
  if (!hooks_)
    hooks_ = std::make_shared<detail::ForwardHookTable>();
  const uint64_t id = hooks_->next_id++;
  hooks_->post.push_back(
      {id, std::make_shared<const ForwardHook>(std::move(hook))});
  return RemovableHandle(hooks_, id);
}

TensorList Module::run_forward_pre_hooks(TensorList inputs) {
  if (!hooks_)
    return inputs;
  // A copy: hooks registered or removed by a hook change the next call, not
  // this one (PyTorch iterates over a snapshot too), and a hook that removes
  // itself keeps running on this copy's reference.
  const auto hooks = hooks_->pre;
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::optional<TensorList> r = (*hooks[i].fn)(*this, inputs);
    if (!r)
      continue;
    VOXGRAD_CHECK(
        r->size() == inputs.size(), name(), ": forward pre-hook ", i,
        " returned ", r->size(), " tensor(s) to replace the call's ",
        inputs.size(),
        " Tensor argument(s); a replacement has one tensor per Tensor "
        "argument (return std::nullopt to keep them)");
    inputs = std::move(*r);
  }
  return inputs;
}

TensorList Module::run_forward_hooks(
    const TensorList& inputs, TensorList outputs) {
  if (!hooks_)
    return outputs;
  const auto hooks = hooks_->post;  // a snapshot, as above
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::optional<TensorList> r = (*hooks[i].fn)(*this, inputs, outputs);
    if (!r)
      continue;
    VOXGRAD_CHECK(
        r->size() == outputs.size(), name(), ": forward hook ", i, " returned ",
        r->size(), " tensor(s) to replace ", outputs.size(),
        " output tensor(s); hooks replace a Tensor, tuple or pair of Tensors "
        "result one for one, and see no other result (return std::nullopt "
        "to keep it)");
    outputs = std::move(*r);
  }
  return outputs;
}

// ---- reparametrisation ---------------------------------------------------

Tensor* Module::member(const std::string& name) const {
  for (const auto& [n, m] : members_)
    if (n == name)
      return m;
  return nullptr;
}

const Module::Reparametrization* Module::reparametrization(
    const std::string& name) const {
  for (const auto& [n, r] : reparams_)
    if (n == name)
      return &r;
  return nullptr;
}

Tensor Module::reparametrizable(
    const std::string& name, const char* kind) const {
  if (const Reparametrization* r = reparametrization(name)) {
    VOXGRAD_FAIL(
        kind, ": ", this->name(), "'s parameter '", name,
        "' is already reparametrised by ", r->kind, "; call remove_", r->kind,
        " first (a second ", kind,
        " on one parameter is an error, as in "
        "PyTorch)");
  }
  const auto it = std::find_if(
      params_.begin(), params_.end(),
      [&](const auto& kv) { return kv.first == name; });
  if (it == params_.end()) {
    std::string known;
    for (const auto& [n, t] : params_)
      known += (known.empty() ? "'" : ", '") + n + "'";
    VOXGRAD_FAIL(
        kind, ": ", this->name(), " has no parameter '", name,
        "' (its parameters: ", known.empty() ? "none" : known, ")");
  }
  VOXGRAD_CHECK(
      member(name) != nullptr, kind, ": ", this->name(), "'s parameter '", name,
      "' is not registered with the member its forward reads "
      "(register_parameter(name, member, tensor)), so nothing can replace "
      "what forward reads; Linear, Conv3d, ConvTranspose3d and Embedding "
      "register weight and bias so (NOTE [ Reparametrised parameters ] in "
      "voxgrad/nn/module.hpp)");
  return it->second;
}

void Module::reparametrize(
    const std::string& name,
    const std::string& kind,
    const NamedTensors& params,
    const NamedTensors& buffers,
    std::any state,
    ForwardPreHook recompute,
    const Tensor& value) {
  (void)reparametrizable(name, kind.c_str());
  // Every new name must be free (the parameter leaving frees `name`) and
  // every tensor valid before anything changes.
  std::vector<std::string> added;
  for (const NamedTensors* list : {&params, &buffers}) {
    for (const auto& [n, t] : *list) {
      VOXGRAD_CHECK(
          n != name && std::find(added.begin(), added.end(), n) == added.end(),
          kind, ": ", this->name(), ": name '", n, "' is used twice");
      check_name(n, list == &params ? "parameter" : "buffer");
      VOXGRAD_CHECK(
          t.defined(), kind, ": ", this->name(), ": '", n, "' is undefined");
      added.push_back(n);
    }
  }
  for (const auto& [n, t] : params)
    VOXGRAD_CHECK(
        t.is_leaf(), kind, ": ", this->name(), ": parameter '", n,
        "' must be a leaf tensor");
  VOXGRAD_CHECK(
      recompute != nullptr, kind, ": ", this->name(), ": no pre-hook given");
  // Nothing below throws but allocation.
  const auto it = std::find_if(
      params_.begin(), params_.end(),
      [&](const auto& kv) { return kv.first == name; });
  params_.erase(it);
  for (const auto& [n, t] : params)
    params_.emplace_back(n, t);
  for (const auto& [n, t] : buffers)
    buffers_.emplace_back(n, t.detach());
  Reparametrization r{kind, std::move(added), std::move(state), {}};
  r.hook = add_forward_pre_hook(std::move(recompute));
  reparams_.emplace_back(name, std::move(r));
  *member(name) = value;
}

void Module::set_reparametrized(const std::string& name, const Tensor& value) {
  VOXGRAD_CHECK(
      reparametrization(name) != nullptr, this->name(), ": '", name,
      "' is not reparametrised");
  *member(name) = value;
}

void Module::remove_reparametrized(
    const std::string& name, const std::string& kind, const Tensor& param) {
  const auto it = std::find_if(
      reparams_.begin(), reparams_.end(),
      [&](const auto& kv) { return kv.first == name; });
  VOXGRAD_CHECK(
      it != reparams_.end() && it->second.kind == kind, "remove_", kind, ": ",
      kind, " of '", name, "' not found in ", this->name());
  VOXGRAD_CHECK(
      param.defined() && param.is_leaf(), "remove_", kind, ": ", this->name(),
      ": the new parameter '", name, "' must be a defined leaf tensor");
  const std::vector<std::string>& added = it->second.added;
  auto drop = [&](NamedTensors& list) {
    list.erase(
        std::remove_if(
            list.begin(), list.end(),
            [&](const auto& kv) {
              return std::find(added.begin(), added.end(), kv.first) !=
                     added.end();
            }),
        list.end());
  };
  drop(params_);
  drop(buffers_);
  RemovableHandle hook = it->second.hook;
  reparams_.erase(it);
  hook.remove();
  params_.emplace_back(name, param);
  *member(name) = param;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    n += p.numel();
  return n;
}

void Module::print(std::ostream& os, int indent) const {
  const std::string pad(static_cast<size_t>(indent), ' ');
  os << name() << "(" << extra_repr();
  if (!params_.empty()) {
    os << (extra_repr().empty() ? "" : "; ");
    for (size_t i = 0; i < params_.size(); ++i)
      os << (i ? ", " : "") << params_[i].first << " "
         << shape_str(params_[i].second.shape());
  }
  if (children_.empty()) {
    os << ")";
    return;
  }
  os << "\n";
  for (const auto& [cname, child] : children_) {
    os << pad << "  (" << cname << "): ";
    child->print(os, indent + 2);
    os << "\n";
  }
  os << pad << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) {
  m.print(os, 0);
  const int64_t n = m.num_parameters();
  std::string digits = std::to_string(n), grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      grouped += ',';
    grouped += digits[i];
  }
  return os << "  # " << grouped << " parameters";
}

}  // namespace nn
}  // namespace voxgrad
