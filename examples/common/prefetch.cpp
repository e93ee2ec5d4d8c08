#include "prefetch.hpp"

#include <utility>

namespace voxgrad::examples {

BatchPrefetcher::~BatchPrefetcher() {
  drop_pending();
}

void BatchPrefetcher::drop_pending() {
  if (!pending_.valid())
    return;
  try {
    pending_.get();
  } catch (...) {
    // An unclaimed batch's error concerns nobody: take() makes its own.
  }
}

void BatchPrefetcher::prefetch(Split split, std::vector<int64_t> items) {
  drop_pending();
  split_ = split;
  items_ = std::move(items);
  pending_ = std::async(std::launch::async, [this, split, items = items_] {
    return data_.batch(split, items);
  });
}

Tensor BatchPrefetcher::take(Split split, const std::vector<int64_t>& items) {
  if (pending_.valid() && split == split_ && items == items_)
    return pending_.get();  // rethrows the background error, if any
  drop_pending();
  return data_.batch(split, items);
}

}  // namespace voxgrad::examples
