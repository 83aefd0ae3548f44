// The worker's record of virtual memory management allocations (vmm_book.h).
#include "backend/cuda/vmm_book.h"

#include <iterator>

namespace gvirtus::backend::cuda {

bool VmmBook::created(uint64_t raw, uint64_t bytes, int device) {
  std::lock_guard<std::mutex> g(mu_);
  return allocs_.emplace(raw, Allocation{bytes, device, 1, 0}).second;
}

bool VmmBook::retained(uint64_t raw) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = allocs_.find(raw);
  if (it == allocs_.end() || it->second.refs == UINT32_MAX) return false;
  ++it->second.refs;
  return true;
}

void VmmBook::bury_locked(std::map<uint64_t, Allocation>::iterator it, std::vector<Dead>* dead) {
  if (it->second.refs > 0 || it->second.maps > 0) return;
  dead->push_back(Dead{it->first, it->second.bytes, it->second.device});
  allocs_.erase(it);
}

uint32_t VmmBook::released(uint64_t raw, std::vector<Dead>* dead) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = allocs_.find(raw);
  if (it == allocs_.end() || it->second.refs == 0) return 0;
  const uint32_t left = --it->second.refs;
  bury_locked(it, dead);
  return left;
}

void VmmBook::drop_locked(uint64_t va, uint64_t size, bool keep_outside,
                          std::vector<Dead>* dead) {
  const uint64_t end = va + size < va ? UINT64_MAX : va + size;
  auto m = maps_.lower_bound(va);
  if (m != maps_.begin()) {
    auto before = std::prev(m);
    if (before->first + before->second.size > va) m = before;  // reaches into the range
  }
  while (m != maps_.end() && m->first < end) {
    const uint64_t start = m->first, stop = m->first + m->second.size;
    const uint64_t raw = m->second.raw;
    auto a = allocs_.find(raw);
    m = maps_.erase(m);
    if (a == allocs_.end()) continue;
    if (a->second.maps > 0) --a->second.maps;
    // What lies outside the range stays mapped (a driver that unmapped part of a mapping).
    if (keep_outside && start < va) {
      maps_[start] = Mapping{va - start, raw};
      ++a->second.maps;
    }
    if (keep_outside && stop > end) {
      m = maps_.emplace(end, Mapping{stop - end, raw}).first;
      ++a->second.maps;
      ++m;
    }
    bury_locked(a, dead);
  }
}

void VmmBook::mapped(uint64_t va, uint64_t size, uint64_t raw, std::vector<Dead>* dead) {
  std::lock_guard<std::mutex> g(mu_);
  // The driver maps only what is not mapped, so a mapping recorded there is stale (its
  // reservation was freed another way): it no longer counts.
  drop_locked(va, size, false, dead);
  auto it = allocs_.find(raw);
  if (it == allocs_.end()) return;
  maps_[va] = Mapping{size, raw};
  ++it->second.maps;
}

void VmmBook::unmapped(uint64_t va, uint64_t size, std::vector<Dead>* dead) {
  std::lock_guard<std::mutex> g(mu_);
  drop_locked(va, size, true, dead);
}

std::vector<std::pair<uint64_t, uint64_t>> VmmBook::mappings_in(uint64_t va,
                                                                 uint64_t size) const {
  std::lock_guard<std::mutex> g(mu_);
  const uint64_t end = va + size < va ? UINT64_MAX : va + size;
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (auto m = maps_.lower_bound(va); m != maps_.end() && m->first < end; ++m)
    out.emplace_back(m->first, m->second.size);
  return out;
}

uint32_t VmmBook::references(uint64_t raw) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = allocs_.find(raw);
  return it == allocs_.end() ? 0 : it->second.refs;
}

bool VmmBook::find(uint64_t raw, Allocation* out) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = allocs_.find(raw);
  if (it == allocs_.end()) return false;
  *out = it->second;
  return true;
}

size_t VmmBook::allocations() const {
  std::lock_guard<std::mutex> g(mu_);
  return allocs_.size();
}

size_t VmmBook::mappings() const {
  std::lock_guard<std::mutex> g(mu_);
  return maps_.size();
}

}  // namespace gvirtus::backend::cuda
