// The driver API's device variables as device ranges (globals.h).
#include "frontend/cuda/globals.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "frontend/core/ranges.h"

namespace gvirtus::cuda {
namespace {

struct Globals {
  std::mutex mu;
  // owner -> base of each of its variables recorded so far -> that record's generation
  std::unordered_map<const void*, std::map<uintptr_t, uint64_t>> by_owner;
  // library -> the modules cuLibraryGetModule gave for it
  std::unordered_map<const void*, std::unordered_set<const void*>> modules_of;
};

Globals& globals() {
  static auto* g = new Globals;  // never destroyed: unloads may come from static destructors
  return *g;
}

// What this thread's unload gives back (owner_unloading .. owner_unloaded): each variable's
// owner, base and record generation.
struct Noted {
  const void* owner;
  uintptr_t base;
  uint64_t gen;
};
struct Unloading {
  const void* owner = nullptr;
  std::vector<Noted> records;
  std::vector<const void*> modules;  // the library's modules, at the unload
};
thread_local Unloading t_unloading;

}  // namespace

void global_resolved(const void* owner, const CUdeviceptr* dptr, const size_t* bytes) {
  if (!dptr || !bytes || *dptr == 0 || *bytes == 0) return;
  const auto base = static_cast<uintptr_t>(*dptr);
  Globals& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  auto& mine = g.by_owner[owner];
  // Resolved before and still that record: nothing to do (a claim costs an mmap).
  client::RangeMap::Range now;
  if (auto it = mine.find(base); it != mine.end() && client::device_range_at(base, &now) &&
                                 now.gen == it->second && now.size == *bytes)
    return;
  if (const uint64_t gen = client::record_device_range(base, *bytes, 0, true)) mine[base] = gen;
}

void library_module(const void* library, const CUmodule* module) {
  if (!library || !module || !*module) return;
  Globals& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  g.modules_of[library].insert(*module);
}

std::optional<CUresult> owner_unloading(const void* owner) {
  t_unloading = Unloading{};
  t_unloading.owner = owner;
  Globals& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  std::vector<const void*> owners{owner};
  if (auto it = g.modules_of.find(owner); it != g.modules_of.end()) {
    owners.insert(owners.end(), it->second.begin(), it->second.end());
    t_unloading.modules.assign(it->second.begin(), it->second.end());
  }
  for (const void* o : owners)
    if (auto it = g.by_owner.find(o); it != g.by_owner.end())
      for (const auto& [base, gen] : it->second) t_unloading.records.push_back({o, base, gen});
  return std::nullopt;
}

void owner_unloaded() {
  Unloading u = std::move(t_unloading);
  t_unloading = Unloading{};
  if (!u.owner) return;
  Globals& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  for (const Noted& n : u.records) {
    client::RangeMap::Range r;
    r.base = n.base;
    r.gen = n.gen;
    client::forget_device_range_if_same(r);  // gone already if other memory replaced it
    auto it = g.by_owner.find(n.owner);
    if (it == g.by_owner.end()) continue;
    // A handle another thread got meanwhile keeps what it resolved since.
    if (auto e = it->second.find(n.base); e != it->second.end() && e->second == n.gen)
      it->second.erase(e);
    if (it->second.empty()) g.by_owner.erase(it);
  }
  // Only the modules it had: a library another thread loaded meanwhile under the same handle
  // keeps those it got since.
  if (auto it = g.modules_of.find(u.owner); it != g.modules_of.end()) {
    for (const void* m : u.modules) it->second.erase(m);
    if (it->second.empty()) g.modules_of.erase(it);
  }
}

void owner_unload_failed() { t_unloading = Unloading{}; }

}  // namespace gvirtus::cuda
