// Registry: call id -> handler. The process-wide registry() is in worker.cc.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "backend/dispatch.h"

namespace gvirtus::backend {

void Registry::add_plugin(const std::string& name, const HandlerEntry* entries, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const HandlerEntry& e = entries[i];
    if (!e.fn) {
      std::fprintf(stderr, "gvirtus: plugin %s: call id %u (%s) has no handler\n", name.c_str(),
                   e.call_id, e.name ? e.name : "?");
      std::abort();
    }
    auto [it, inserted] = by_id_.emplace(e.call_id, e);
    if (!inserted) {
      std::fprintf(stderr, "gvirtus: plugin %s: call id %u (%s) is already taken by %s\n",
                   name.c_str(), e.call_id, e.name ? e.name : "?",
                   it->second.name ? it->second.name : "?");
      std::abort();
    }
  }
  // A plugin may register its handlers in several batches (generated and hand-written).
  if (!has_plugin(name)) plugins_.push_back(name);
}

const HandlerEntry* Registry::find(uint32_t call_id) const {
  auto it = by_id_.find(call_id);
  return it == by_id_.end() ? nullptr : &it->second;
}

bool Registry::has_plugin(const std::string& name) const {
  return std::find(plugins_.begin(), plugins_.end(), name) != plugins_.end();
}

}  // namespace gvirtus::backend
