// Registry: call id -> handler. The process-wide registry() is in worker.cc.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backend/dispatch.h"
#include "backend/plugins.h"
#include "backend/stats.h"
#include "common/log.h"

namespace gvirtus::backend {

struct Registry::Lazy {
  const LibraryPlugin* info;
  PluginLoader loader;
  mutable std::once_flag once;
  mutable std::unordered_map<uint32_t, HandlerEntry> by_id;  // written once, under `once`
  mutable bool loaded = false;                               // written once, under `once`
  mutable std::string error;                                 // written once, under `once`
  mutable std::once_flag told;

  void load(bool ahead = false) const {
    std::call_once(once, [this, ahead] {
      const PluginTable* t = loader(*info, &error);
      if (!t) {
        // Ahead of any call the client may never use the library: a warning.
        const std::string text = std::string("library plugin ") + info->name + ": " + error;
        if (ahead)
          GV_WARN(text);
        else
          GV_ERROR(text);
        return;
      }
      for (size_t i = 0; i < t->count; ++i) by_id.emplace(t->entries[i].call_id, t->entries[i]);
      loaded = true;
      stats::library_loaded(info->name);
      GV_INFO(std::string("library plugin ") + info->name + " loaded (" +
              std::to_string(t->count) + " calls)");
    });
  }
};

void Registry::add_library_plugin(const LibraryPlugin& p, PluginLoader loader) {
  auto l = std::make_shared<Lazy>();
  l->info = &p;
  l->loader = loader;
  lazy_.push_back(std::move(l));
}

const Registry::Lazy* Registry::lazy_for(uint32_t call_id) const {
  for (const auto& l : lazy_)
    if (call_id >= l->info->first_id && call_id <= l->info->last_id) return l.get();
  return nullptr;
}

bool Registry::preload(const std::vector<std::string>& names) const {
  bool any = false;
  for (const auto& l : lazy_) {
    if (std::find(names.begin(), names.end(), l->info->name) == names.end()) continue;
    l->load(true);
    any = true;
  }
  return any;
}

bool Registry::unavailable(uint32_t call_id, int32_t* status, std::string* why,
                           bool* first) const {
  const Lazy* l = lazy_for(call_id);
  if (!l) return false;
  l->load();
  if (l->loaded) return false;
  *status = l->info->unavailable;
  *why = l->error;
  *first = false;
  std::call_once(l->told, [&] { *first = true; });
  return true;
}

std::vector<std::string> Registry::plugins() const {
  std::vector<std::string> out = plugins_;
  for (const auto& l : lazy_) out.push_back(l->info->name);
  return out;
}

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
  if (it != by_id_.end()) return &it->second;
  const Lazy* l = lazy_for(call_id);
  if (!l) return nullptr;
  l->load();
  auto lt = l->by_id.find(call_id);
  return lt == l->by_id.end() ? nullptr : &lt->second;
}

const HandlerEntry* Registry::find_named(const char* name, uint32_t near) const {
  if (!name) return nullptr;
  for (const auto& [id, e] : by_id_)
    if (e.name && std::strcmp(e.name, name) == 0) return &e;
  const Lazy* l = lazy_for(near);
  if (!l) return nullptr;
  l->load();
  for (const auto& [id, e] : l->by_id)
    if (e.name && std::strcmp(e.name, name) == 0) return &e;
  return nullptr;
}

std::vector<uint32_t> Registry::call_ids() const {
  std::vector<uint32_t> out;
  out.reserve(by_id_.size());
  for (const auto& entry : by_id_) out.push_back(entry.first);
  std::sort(out.begin(), out.end());
  return out;
}

uint32_t Registry::library_of(uint32_t call_id) const {
  const Lazy* l = lazy_for(call_id);
  return l ? l->info->first_id : 0;
}

bool Registry::has_plugin(const std::string& name) const {
  if (std::find(plugins_.begin(), plugins_.end(), name) != plugins_.end()) return true;
  for (const auto& l : lazy_)
    if (name == l->info->name) return true;
  return false;
}

}  // namespace gvirtus::backend
