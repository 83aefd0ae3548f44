// The driver API's device variables as device ranges (globals.h).
#include "frontend/cuda/globals.h"

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "frontend/core/ranges.h"

namespace gvirtus::cuda {
namespace {

struct Globals {
  std::mutex mu;
  // owner -> the bases of its variables recorded so far
  std::unordered_map<const void*, std::unordered_set<uintptr_t>> by_owner;
};

Globals& globals() {
  static auto* g = new Globals;  // never destroyed: unloads may come from static destructors
  return *g;
}

}  // namespace

void global_resolved(const void* owner, const CUdeviceptr* dptr, const size_t* bytes) {
  if (!dptr || !bytes || *dptr == 0 || *bytes == 0) return;
  const auto base = static_cast<uintptr_t>(*dptr);
  Globals& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  if (!g.by_owner[owner].insert(base).second) return;  // resolved before: recorded already
  client::record_device_range(base, *bytes, 0, true);
}

void owner_unloaded(const void* owner) {
  Globals& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  auto it = g.by_owner.find(owner);
  if (it == g.by_owner.end()) return;
  for (uintptr_t base : it->second) client::forget_device_range(base);
  g.by_owner.erase(it);
}

}  // namespace gvirtus::cuda
