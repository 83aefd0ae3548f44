#include "frontend/core/ranges.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/log.h"
#include "frontend/core/answers.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000  // Linux 4.17; older kernels take the address as a hint
#endif

namespace gvirtus::client {

namespace {
bool valid(uintptr_t base, size_t size) { return size > 0 && base + size > base; }

// The first range of m (by base) that ends after base: where the ranges overlapping an
// interval that starts at base begin. REQUIRES: the map's lock held.
template <typename Map>
auto first_reaching(Map& m, uintptr_t base) -> decltype(m.begin()) {
  auto it = m.lower_bound(base);
  if (it != m.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size > base) it = prev;
  }
  return it;
}
}  // namespace

bool RangeMap::overlaps_locked(uintptr_t base, size_t size) const {
  auto it = first_reaching(by_base_, base);
  return it != by_base_.end() && it->first < base + size;
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

bool RangeMap::assign(uintptr_t base, size_t size, uint32_t tag, std::vector<Range>* dropped,
                      uint64_t gen, int32_t device) {
  if (!valid(base, size)) return false;
  std::lock_guard<std::mutex> g(mu_);
  auto it = first_reaching(by_base_, base);
  while (it != by_base_.end() && it->first < base + size) {
    if (dropped) dropped->push_back(it->second);
    it = by_base_.erase(it);
  }
  by_base_[base] = Range{base, size, tag, gen, device};
  return true;
}

std::vector<RangeMap::Range> RangeMap::overlapping(uintptr_t base, size_t size) const {
  std::vector<Range> out;
  if (!valid(base, size)) return out;
  std::lock_guard<std::mutex> g(mu_);
  auto it = first_reaching(by_base_, base);
  for (; it != by_base_.end() && it->first < base + size; ++it) out.push_back(it->second);
  return out;
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

std::vector<RangeMap::Range> RangeMap::all() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<Range> out;
  out.reserve(by_base_.size());
  for (const auto& [base, r] : by_base_) out.push_back(r);
  return out;
}

void RangeMap::clear() {
  std::lock_guard<std::mutex> g(mu_);
  by_base_.clear();
}

RangeMap& device_ranges() {
  static auto* m = new RangeMap;  // never destroyed: frees may come from static destructors
  return *m;
}

namespace {

// The whole pages inside [base, base+size): [*first, *end), empty if none.
void inner_pages(uintptr_t base, size_t size, uintptr_t* first, uintptr_t* end) {
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t stop = base + size < base ? UINTPTR_MAX : base + size;
  *first = (base + page - 1) / page * page;
  *end = stop / page * page;
  if (*end < *first) *end = *first;
}

// Claims the inner pages of a range: true if they are this process's placeholder now.
bool claim(uintptr_t base, size_t size) {
  uintptr_t first, end;
  inner_pages(base, size, &first, &end);
  if (first == end || first == 0) return false;
  void* want = reinterpret_cast<void*>(first);
  void* got = ::mmap(want, end - first, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  const int err = errno;
  if (got == want) return true;
  if (got != MAP_FAILED) ::munmap(got, end - first);  // a kernel that took the address as a hint
  if (got != MAP_FAILED || err == EEXIST)
    log::once(log::Level::kWarn, "device-address-claim",
              "memory of this process lies at device addresses the backend handed out; a host "
              "address there is taken for a device address (copies to it are refused, "
              "cudaMemcpyDefault copies on the device)");
  return false;
}

void unclaim(const RangeMap::Range& r) {
  if (!(r.tag & kClaimedRange)) return;
  uintptr_t first, end;
  inner_pages(r.base, r.size, &first, &end);
  if (first != end && ::munmap(reinterpret_cast<void*>(first), end - first) != 0)
    log::once(log::Level::kWarn, "device-address-unclaim",
              std::string("giving device addresses back to this process failed: ") +
                  std::strerror(errno));
}

// Record and forget, with their claims and the pages given back, happen one at a time: a range
// recorded at an address another thread is giving back must find the pages free.
std::mutex& claims_mu() {
  static auto* m = new std::mutex;
  return *m;
}
size_t g_claims = 0;        // REQUIRES: claims_mu()
uint64_t g_generation = 0;  // REQUIRES: claims_mu()
bool g_contexts_made = false;  // REQUIRES: claims_mu()

void unclaim_all(const std::vector<RangeMap::Range>& ranges) {  // REQUIRES: claims_mu()
  for (const RangeMap::Range& r : ranges)
    if (r.tag & kClaimedRange) {
      unclaim(r);
      if (g_claims > 0) --g_claims;
    }
}


uint64_t record_locked(uintptr_t base, size_t size, uint32_t tag, bool claim_pages) {
  // REQUIRES: claims_mu()
  if (base == 0 || size == 0 || base + size < base) return 0;
  RangeMap& m = device_ranges();
  const uint64_t gen = ++g_generation;
  const int device = known_current_device();
  std::vector<RangeMap::Range> stale;
  m.assign(base, size, tag & ~kClaimedRange, &stale, gen, device);
  unclaim_all(stale);  // their pages go back first, so the claim below can take them
  if (claim_pages && size >= kClaimMinBytes && g_claims < kMaxClaims && claim(base, size)) {
    ++g_claims;
    m.assign(base, size, tag | kClaimedRange, nullptr, gen, device);  // replaces that record
  }
  return gen;
}
}  // namespace

uint64_t record_device_range(uintptr_t base, size_t size, uint32_t tag, bool claim_pages) {
  std::lock_guard<std::mutex> g(claims_mu());
  return record_locked(base, size, tag, claim_pages);
}

bool device_range_at(uintptr_t base, RangeMap::Range* out) {
  RangeMap::Range r;
  if (!device_ranges().find(base, &r) || r.base != base) return false;
  if (out) *out = r;
  return true;
}

bool forget_device_range_if_same(const RangeMap::Range& r) {
  std::lock_guard<std::mutex> g(claims_mu());
  RangeMap& m = device_ranges();
  RangeMap::Range now;
  if (!m.find(r.base, &now) || now.base != r.base || now.gen != r.gen) return false;
  m.remove(r.base);
  unclaim_all({now});
  return true;
}

bool forget_device_range(uintptr_t base, RangeMap::Range* removed) {
  std::lock_guard<std::mutex> g(claims_mu());
  RangeMap::Range r;
  if (!device_ranges().remove(base, &r)) return false;
  unclaim_all({r});
  if (removed) *removed = r;
  return true;
}

namespace {
struct IpcOpen {
  size_t opens = 0;
  uint64_t gen = 0;  // the record the last open made
};
std::map<uintptr_t, IpcOpen>& ipc_opens() {  // REQUIRES: claims_mu()
  static auto* m = new std::map<uintptr_t, IpcOpen>;
  return *m;
}
}  // namespace

void ipc_opened(uintptr_t base, size_t size) {
  std::lock_guard<std::mutex> g(claims_mu());  // the record and its count together
  const uint64_t gen = record_locked(base, size, 0, true);
  if (!gen) return;
  IpcOpen& o = ipc_opens()[base];
  ++o.opens;
  o.gen = gen;
}

void ipc_closed(uintptr_t base) {
  RangeMap::Range r;
  {
    std::lock_guard<std::mutex> g(claims_mu());
    auto it = ipc_opens().find(base);
    if (it == ipc_opens().end()) return;
    if (--it->second.opens > 0) return;
    r.base = base;
    r.gen = it->second.gen;
    ipc_opens().erase(it);
  }
  forget_device_range_if_same(r);
}

void context_created() {
  std::lock_guard<std::mutex> g(claims_mu());
  g_contexts_made = true;
}

bool own_contexts_made() {
  std::lock_guard<std::mutex> g(claims_mu());
  return g_contexts_made;
}

void forget_device_ranges_at_reset(int device) {
  std::lock_guard<std::mutex> g(claims_mu());
  if (g_contexts_made) {
    log::once(log::Level::kInfo, "device-ranges-at-reset",
              "a device reset leaves this process's device ranges recorded: it made contexts of "
              "its own, whose memory outlives the reset");
    return;
  }
  RangeMap& m = device_ranges();
  for (const RangeMap::Range& r : m.all())
    if (r.device == device && !(r.tag & (kReservedRange | kMirroredRange)) && m.remove(r.base)) {
      unclaim_all({r});
      ipc_opens().erase(r.base);  // the reset closed those too
    }
}

void forget_claimed_ranges_in(uintptr_t base, size_t size) {
  std::lock_guard<std::mutex> g(claims_mu());
  RangeMap& m = device_ranges();
  for (const RangeMap::Range& r : m.overlapping(base, size))
    if ((r.tag & kClaimedRange) && m.remove(r.base)) unclaim_all({r});
}

}  // namespace gvirtus::client
