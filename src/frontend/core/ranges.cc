#include "frontend/core/ranges.h"

namespace gvirtus::client {

namespace {
bool valid(uintptr_t base, size_t size) { return size > 0 && base + size > base; }
}  // namespace

bool RangeMap::overlaps_locked(uintptr_t base, size_t size) const {
  auto it = by_base_.lower_bound(base);
  if (it != by_base_.end() && it->first < base + size) return true;
  if (it != by_base_.begin()) {
    --it;
    if (it->first + it->second.size > base) return true;
  }
  return false;
}

bool RangeMap::overlaps(uintptr_t base, size_t size) const {
  if (size == 0) return false;
  if (base + size < base) size = UINTPTR_MAX - base;
  std::lock_guard<std::mutex> g(mu_);
  return overlaps_locked(base, size);
}

bool RangeMap::add(uintptr_t base, size_t size, uint32_t tag) {
  if (!valid(base, size)) return false;
  std::lock_guard<std::mutex> g(mu_);
  if (overlaps_locked(base, size)) return false;
  by_base_[base] = Range{base, size, tag};
  return true;
}

bool RangeMap::assign(uintptr_t base, size_t size, uint32_t tag) {
  if (!valid(base, size)) return false;
  std::lock_guard<std::mutex> g(mu_);
  auto it = by_base_.lower_bound(base);
  if (it != by_base_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size > base) it = prev;
  }
  while (it != by_base_.end() && it->first < base + size) it = by_base_.erase(it);
  by_base_[base] = Range{base, size, tag};
  return true;
}

bool RangeMap::remove(uintptr_t base, Range* removed) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = by_base_.find(base);
  if (it == by_base_.end()) return false;
  if (removed) *removed = it->second;
  by_base_.erase(it);
  return true;
}

bool RangeMap::find(uintptr_t p, Range* out) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = by_base_.upper_bound(p);
  if (it == by_base_.begin()) return false;
  --it;
  if (p - it->first >= it->second.size) return false;
  if (out) *out = it->second;
  return true;
}

size_t RangeMap::count() const {
  std::lock_guard<std::mutex> g(mu_);
  return by_base_.size();
}

void RangeMap::clear() {
  std::lock_guard<std::mutex> g(mu_);
  by_base_.clear();
}

RangeMap& device_ranges() {
  static auto* m = new RangeMap;  // never destroyed: frees may come from static destructors
  return *m;
}

}  // namespace gvirtus::client
