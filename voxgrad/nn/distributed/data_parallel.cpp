#include "voxgrad/nn/distributed/data_parallel.hpp"

#include <cmath>
#include <cstring>
#include <sstream>
#include <unordered_set>

#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::distributed {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i)
    h = (h ^ p[i]) * kFnvPrime;
  return h;
}

// With the NUL, so that "ab", "c" and "a", "bc" hash differently.
uint64_t fnv1a(uint64_t h, const std::string& s) {
  return fnv1a(h, s.data(), s.size() + 1);
}

/// dst[i] = src[i] * share (a copy when share is 1).
template <class T>
void scaled_copy(const T* src, T* dst, int64_t n, double share) {
  if (share == 1.0) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
    return;
  }
  const auto s = static_cast<T>(share);
  for (int64_t i = 0; i < n; ++i)
    dst[i] = src[i] * s;
}

size_t element_size(Dtype d) {
  return d == Dtype::Float64 ? 8 : 4;
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(
    nn::Module& module,
    const Communicator& comm,
    const DataParallelOptions& options)
    : module_(module),
      comm_(comm.duplicate()),
      options_(options),
      share_(1.0 / comm.size()) {
  const double cap = options.bucket_cap_mb();
  VOXGRAD_CHECK(
      std::isfinite(cap) && cap > 0, "DistributedDataParallel: bucket_cap_mb ",
      "must be finite and > 0 (got ", cap, ")");
  check_replicas_agree();
  broadcast_state(/*params=*/true);

  // Slots in reverse registration order (backward's order, roughly), each
  // tensor once even if registered under two names.
  std::unordered_set<const TensorImpl*> seen;
  const nn::NamedTensors params = module.named_parameters();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const auto& [name, p] = *it;
    if (p.requires_grad() && seen.insert(p.impl().get()).second)
      slots_.push_back({name, p});
  }
  const auto cap_bytes = static_cast<size_t>(cap * 1024 * 1024);
  std::vector<int64_t> numels;
  size_t bytes = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    const size_t b = s.param.numel() * element_size(s.param.dtype());
    const bool fresh =
        buckets_.empty() ||
        s.param.dtype() !=
            slots_[buckets_.back().slots.front()].param.dtype() ||
        bytes + b > cap_bytes;
    if (fresh) {
      buckets_.emplace_back();
      numels.push_back(0);
      bytes = 0;
    }
    s.bucket = buckets_.size() - 1;
    s.offset = numels.back();
    numels.back() += s.param.numel();
    bytes += b;
    buckets_.back().slots.push_back(i);
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const Dtype dtype = slots_[buckets_[b].slots.front()].param.dtype();
    buckets_[b].flat = zeros({numels[b]}, dtype);
  }
  reset_round();
  for (size_t i = 0; i < slots_.size(); ++i)
    hooks_.push_back(autograd::register_post_accumulate_grad_hook(
        slots_[i].param, [this, i](const Tensor&) { on_gradient(i); }));
}

DistributedDataParallel::~DistributedDataParallel() {
  hooks_.clear();
  for (Bucket& b : buckets_)
    b.work = Work();  // waits if still in flight
}

void DistributedDataParallel::set_gradient_share(double share) {
  VOXGRAD_CHECK(
      std::isfinite(share) && share >= 0,
      "DistributedDataParallel::set_gradient_share: share must be finite and "
      ">= 0 (got ",
      share, ")");
  share_ = share;
}

void DistributedDataParallel::check_replicas_agree() const {
  // Names, dtypes and shapes of everything the replicas must share. A
  // mismatch found here is an error on every rank alike (all see the same
  // gathered hashes), instead of mismatched collectives later.
  uint64_t h = kFnvOffset;
  uint64_t count = 0, elements = 0;
  auto add = [&](const nn::NamedTensors& tensors, const char* kind) {
    for (const auto& [name, t] : tensors) {
      h = fnv1a(h, std::string(kind) + name + dtype_name(t.dtype()));
      h = fnv1a(h, t.shape().data(), t.shape().size() * sizeof(int64_t));
      ++count;
      elements += static_cast<uint64_t>(t.numel());
    }
  };
  add(module_.named_parameters(), "p:");
  add(module_.named_buffers(), "b:");
  const uint64_t mine[3] = {h, count, elements};
  const std::vector<uint64_t> all = comm_.all_gather(mine);
  std::ostringstream bad;
  for (int r = 1; r < comm_.size(); ++r) {
    const size_t o = static_cast<size_t>(r) * 3;
    if (all[o] != all[0])
      bad << " rank " << r << " (" << all[o + 1] << " tensors, " << all[o + 2]
          << " elements);";
  }
  const std::string diff = bad.str();
  VOXGRAD_CHECK(
      diff.empty(), "DistributedDataParallel: the model differs between ranks",
      " (parameter and buffer names, shapes and dtypes must match): rank 0 "
      "has ",
      all[1], " tensors, ", all[2], " elements; differing:", diff,
      " build the same model on every rank");
}

void DistributedDataParallel::broadcast_state(bool params) {
  std::vector<Tensor> targets, staged;
  if (params) {
    for (const auto& [name, t] : module_.named_parameters())
      targets.push_back(t);
  }
  for (const auto& [name, t] : module_.named_buffers())
    targets.push_back(t);
  if (targets.empty() || comm_.size() == 1)
    return;
  std::vector<Work> works;
  for (Tensor& t : targets) {
    staged.push_back(t.is_contiguous() ? t : t.contiguous().clone());
    works.push_back(comm_.broadcast_async(
        staged.back(), 0, "broadcast of " + shape_str(t.shape())));
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < targets.size(); ++i) {
    works[i].wait();
    if (!staged[i].shares_storage_with(targets[i]))
      targets[i].copy_(staged[i]);
  }
}

void DistributedDataParallel::reset_round() {
  for (Slot& s : slots_)
    s.ready = false;
  for (Bucket& b : buckets_) {
    b.pending = b.slots.size();
    b.started = false;
  }
  next_bucket_ = 0;
}

void DistributedDataParallel::copy_in(size_t i) {
  const Slot& s = slots_[i];
  Bucket& b = buckets_[s.bucket];
  const int64_t n = s.param.numel();
  const Tensor g = s.param.grad();
  if (!g.defined()) {
    std::memset(
        static_cast<char*>(b.flat.mutable_raw_data()) +
            static_cast<size_t>(s.offset) * element_size(b.flat.dtype()),
        0, static_cast<size_t>(n) * element_size(b.flat.dtype()));
    return;
  }
  VOXGRAD_CHECK(
      g.shape() == s.param.shape() && g.dtype() == s.param.dtype(),
      "DistributedDataParallel: the gradient of '", s.name, "' is ",
      dtype_name(g.dtype()), " ", shape_str(g.shape()),
      " but the parameter is ", dtype_name(s.param.dtype()), " ",
      shape_str(s.param.shape()));
  const Tensor src = g.contiguous();
  if (b.flat.dtype() == Dtype::Float32)
    scaled_copy(
        src.data<float>(), b.flat.mutable_data<float>() + s.offset, n, share_);
  else
    scaled_copy(
        src.data<double>(), b.flat.mutable_data<double>() + s.offset, n,
        share_);
}

void DistributedDataParallel::on_gradient(size_t i) {
  if (!sync_enabled_ || !options_.overlap())
    return;
  Slot& s = slots_[i];
  Bucket& b = buckets_[s.bucket];
  VOXGRAD_CHECK(
      !b.started, "DistributedDataParallel: parameter '", s.name,
      "' received another gradient after its bucket's all-reduce had started "
      "(two backward passes without synchronize_gradients() in between); "
      "call synchronize_gradients() after each backward, or accumulate "
      "micro-batches inside no_sync()");
  copy_in(i);  // again if already ready: .grad() holds the running total
  if (!s.ready) {
    s.ready = true;
    --b.pending;
  }
  start_ready_buckets();
  // Any MPI call drives progress of the collectives in flight; without
  // these tests they would mostly advance only in synchronize_gradients().
  for (size_t k = 0; k < next_bucket_; ++k) {
    if (buckets_[k].work.pending() && !buckets_[k].work.test())
      break;
  }
}

void DistributedDataParallel::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0)
    start_bucket(next_bucket_++);
}

void DistributedDataParallel::start_bucket(size_t k) {
  Bucket& b = buckets_[k];
  std::ostringstream what;
  what << "all-reduce of gradient bucket " << k + 1 << " of " << buckets_.size()
       << " ("
       << static_cast<double>(b.flat.numel()) *
              static_cast<double>(element_size(b.flat.dtype())) / 1e6
       << " MB, first parameter '" << slots_[b.slots.front()].name << "')";
  b.work = comm_.all_reduce_sum_async(b.flat, what.str());
  b.started = true;
}

void DistributedDataParallel::synchronize_gradients() {
  for (size_t k = next_bucket_; k < buckets_.size(); ++k) {
    Bucket& b = buckets_[k];
    for (size_t i : b.slots) {
      if (!slots_[i].ready) {
        copy_in(i);
        slots_[i].ready = true;
      }
    }
    b.pending = 0;
  }
  start_ready_buckets();
  NoGradGuard no_grad;
  for (Bucket& b : buckets_) {
    b.work.wait();
    for (size_t i : b.slots) {
      Slot& s = slots_[i];
      s.param.set_grad(b.flat.slice(0, s.offset, s.offset + s.param.numel())
                           .reshape(s.param.shape())
                           .clone());
    }
  }
  reset_round();
  if (options_.broadcast_buffers())
    broadcast_state(/*params=*/false);
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp)
    : ddp_(ddp), prev_(ddp.sync_enabled_) {
  ddp_.sync_enabled_ = false;
}

DistributedDataParallel::NoSync::~NoSync() {
  ddp_.sync_enabled_ = prev_;
}

bool DistributedDataParallel::replicas_identical() const {
  uint64_t h = kFnvOffset;
  for (const auto& list : {module_.named_parameters(), module_.named_buffers()})
    for (const auto& [name, t] : list) {
      const Tensor c = t.contiguous();
      h = fnv1a(h, c.raw_data(), c.numel() * element_size(c.dtype()));
    }
  const uint64_t mine[1] = {h};
  const std::vector<uint64_t> all = comm_.all_gather(mine);
  for (uint64_t v : all)
    if (v != all[0])
      return false;
  return true;
}

std::vector<std::string> DistributedDataParallel::bucket_parameter_names(
    size_t i) const {
  VOXGRAD_CHECK(
      i < buckets_.size(), "bucket_parameter_names: bucket index ", i,
      " is out of range (", buckets_.size(), " buckets)");
  std::vector<std::string> names;
  for (size_t s : buckets_[i].slots)
    names.push_back(slots_[s].name);
  return names;
}

}  // namespace voxgrad::distributed
