// The session's GPU memory ledger (memory_quota.h).
#include "backend/memory_quota.h"

#include "backend/stats.h"

namespace gvirtus::backend::quota {

void Ledger::set_limit(int64_t limit) {
  std::lock_guard<std::mutex> g(mu_);
  limit_ = limit < 0 ? -1 : limit;
}

int64_t Ledger::limit() const {
  std::lock_guard<std::mutex> g(mu_);
  return limit_;
}

bool Ledger::fits(uint64_t bytes) const {
  std::lock_guard<std::mutex> g(mu_);
  if (held_ > UINT64_MAX - bytes) return false;
  return limit_ < 0 || held_ + bytes <= static_cast<uint64_t>(limit_);
}

bool Ledger::add(uint32_t family, uint64_t key, uint64_t bytes, int device, bool checked) {
  std::lock_guard<std::mutex> g(mu_);
  const bool overflow = held_ > UINT64_MAX - bytes;
  if (checked && (overflow || (limit_ >= 0 && held_ + bytes > static_cast<uint64_t>(limit_))))
    return false;
  if (bytes == 0) return limit_ < 0 || held_ <= static_cast<uint64_t>(limit_);
  // Saturating from here on (only charge_anyway reaches an overflow: a count, not memory).
  auto sat_add = [](uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
  Entry& e = entries_.try_emplace({family, key}, Entry{0, device}).first->second;
  e.bytes = sat_add(e.bytes, bytes);
  held_ = sat_add(held_, bytes);
  if (e.device >= 0 && e.device < kDevices) {
    per_device_[e.device] = sat_add(per_device_[e.device], bytes);
    if (e.device + 1 > devices_) devices_ = e.device + 1;
  }
  if (held_ > peak_) peak_ = held_;
  changed();
  return limit_ < 0 || held_ <= static_cast<uint64_t>(limit_);
}

bool Ledger::charge(uint32_t family, uint64_t key, uint64_t bytes, int device) {
  return add(family, key, bytes, device, true);
}

bool Ledger::charge_anyway(uint32_t family, uint64_t key, uint64_t bytes, int device) {
  return add(family, key, bytes, device, false);
}

uint64_t Ledger::release(uint32_t family, uint64_t key) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find({family, key});
  if (it == entries_.end()) return 0;
  const Entry e = it->second;
  entries_.erase(it);
  // Every charge went into held_ (and its device's count) before: never below zero, but a
  // saturated count is clamped rather than wrapped.
  held_ -= e.bytes <= held_ ? e.bytes : held_;
  if (e.device >= 0 && e.device < kDevices)
    per_device_[e.device] -= e.bytes <= per_device_[e.device] ? e.bytes : per_device_[e.device];
  changed();
  return e.bytes;
}

uint64_t Ledger::release_device(int device) {
  std::lock_guard<std::mutex> g(mu_);
  uint64_t freed = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    // Physical allocations of the virtual memory management API belong to no context: a reset
    // leaves them, and their charges, as they are.
    if (it->second.device != device || it->first.first == kVmmAllocation) {
      ++it;
      continue;
    }
    freed += it->second.bytes <= UINT64_MAX - freed ? it->second.bytes : UINT64_MAX - freed;
    it = entries_.erase(it);
  }
  held_ -= freed <= held_ ? freed : held_;
  if (device >= 0 && device < kDevices)
    per_device_[device] -= freed <= per_device_[device] ? freed : per_device_[device];
  changed();
  return freed;
}

uint64_t Ledger::held_by(uint32_t family, uint64_t key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find({family, key});
  return it == entries_.end() ? 0 : it->second.bytes;
}

uint64_t Ledger::held() const {
  std::lock_guard<std::mutex> g(mu_);
  return held_;
}

uint64_t Ledger::peak() const {
  std::lock_guard<std::mutex> g(mu_);
  return peak_;
}

uint64_t Ledger::held_on(int device) const {
  std::lock_guard<std::mutex> g(mu_);
  return device >= 0 && device < kDevices ? per_device_[device] : 0;
}

int Ledger::devices() const {
  std::lock_guard<std::mutex> g(mu_);
  return devices_;
}

size_t Ledger::entries() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.size();
}

void Ledger::on_change(std::function<void(const Figures&)> fn) {
  std::lock_guard<std::mutex> g(mu_);
  on_change_ = std::move(fn);
  changed();
}

void Ledger::changed() {
  if (!on_change_) return;
  Figures f;
  f.held = held_;
  f.peak = peak_;
  f.devices = devices_;
  for (int d = 0; d < devices_; ++d) f.per_device[d] = per_device_[d];
  on_change_(f);
}

Ledger& ledger() {
  static Ledger* l = [] {
    auto* n = new Ledger();  // never destroyed: handlers may run while the process exits
    n->on_change([](const Ledger::Figures& f) {
      stats::Block* b = stats::block();
      if (!b) return;
      constexpr auto r = std::memory_order_relaxed;
      for (int d = 0; d < f.devices && d < static_cast<int>(stats::kMaxDevices); ++d)
        b->gpu_memory[d].store(f.per_device[d], r);
      b->gpu_memory_peak.store(f.peak, r);
      // Release: a reader that sees the count sees the figures stored before it.
      b->devices.store(static_cast<uint32_t>(f.devices), std::memory_order_release);
    });
    return n;
  }();
  return *l;
}

std::string over_limit_text(uint64_t bytes, const Ledger& l) {
  return "GPU memory quota: " + std::to_string(bytes) + " more byte(s) would exceed the " +
         "session's \"gpu_memory\" limit of " + std::to_string(l.limit()) + " (" +
         std::to_string(l.held()) + " held); the call answers its out-of-memory error";
}

}  // namespace gvirtus::backend::quota
