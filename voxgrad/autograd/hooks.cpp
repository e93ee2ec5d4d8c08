#include "voxgrad/autograd/hooks.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace voxgrad::autograd {
namespace {

struct Entry {
  uint64_t id;
  std::weak_ptr<TensorImpl> leaf;
  PostAccumulateGradHook fn;
};

struct Registry {
  std::mutex mutex;
  std::unordered_map<const TensorImpl*, std::vector<Entry>> by_leaf;
  std::unordered_map<uint64_t, const TensorImpl*> by_id;
  // Read without the lock on every accumulation: the fast path when no
  // hook exists anywhere.
  std::atomic<size_t> count{0};
  uint64_t next_id = 1;
};

// Never destroyed: a HookHandle with static storage duration may be
// destroyed after a function-local static registry would have been.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

void remove_hook(uint64_t id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_id.find(id);
  if (it == r.by_id.end())
    return;
  auto leaf_it = r.by_leaf.find(it->second);
  VOXGRAD_ASSERT(leaf_it != r.by_leaf.end());
  std::erase_if(leaf_it->second, [id](const Entry& e) { return e.id == id; });
  if (leaf_it->second.empty())
    r.by_leaf.erase(leaf_it);
  r.by_id.erase(it);
  r.count.fetch_sub(1);
}

}  // namespace

HookHandle::~HookHandle() {
  remove();
}

HookHandle::HookHandle(HookHandle&& other) noexcept
    : id_(std::exchange(other.id_, 0)) {}

HookHandle& HookHandle::operator=(HookHandle&& other) noexcept {
  if (this != &other) {
    remove();
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void HookHandle::remove() {
  if (id_ != 0)
    remove_hook(std::exchange(id_, 0));
}

HookHandle register_post_accumulate_grad_hook(
    const Tensor& leaf, PostAccumulateGradHook hook) {
  constexpr const char* op = "register_post_accumulate_grad_hook";
  VOXGRAD_CHECK(leaf.defined(), op, ": the tensor is undefined");
  VOXGRAD_CHECK(
      leaf.is_leaf() && leaf.requires_grad(), op,
      ": the tensor must be a leaf that requires grad (got ",
      leaf.is_leaf() ? "a leaf that does not require grad"
                     : "the output of an op",
      ", shape ", shape_str(leaf.shape()),
      "); call requires_grad_() on a leaf, or hook a parameter");
  VOXGRAD_CHECK(hook != nullptr, op, ": the hook is empty");
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const uint64_t id = r.next_id++;
  const TensorImpl* key = leaf.impl().get();
  auto& entries = r.by_leaf[key];
  // A tensor that died with hooks still registered may have left entries
  // under this address: they belong to it, not to `leaf`.
  std::erase_if(entries, [&](const Entry& e) {
    if (e.leaf.lock() == leaf.impl())
      return false;
    r.by_id.erase(e.id);
    r.count.fetch_sub(1);
    return true;
  });
  entries.push_back({id, leaf.impl(), std::move(hook)});
  r.by_id[id] = key;
  r.count.fetch_add(1);
  return HookHandle(id);
}

namespace detail {

void run_post_accumulate_grad_hooks(const AccumulateGrad& acc) {
  Registry& r = registry();
  if (r.count.load(std::memory_order_relaxed) == 0)
    return;
  const std::shared_ptr<TensorImpl> leaf = acc.leaf();
  if (!leaf)
    return;
  std::vector<PostAccumulateGradHook> fns;
  {
    std::lock_guard lock(r.mutex);
    auto it = r.by_leaf.find(leaf.get());
    if (it == r.by_leaf.end())
      return;
    for (const Entry& e : it->second) {
      if (e.leaf.lock() == leaf)
        fns.push_back(e.fn);
    }
  }
  // Called without the lock, so a hook may register or remove hooks.
  const Tensor t(leaf);
  for (const auto& fn : fns)
    fn(t);
}

}  // namespace detail
}  // namespace voxgrad::autograd
