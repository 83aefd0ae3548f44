// support.h: the functions of the libnvidia-ml.so.1 the worker loaded for this plugin.
#include <dlfcn.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "backend/nvml/support.h"

namespace gvirtus::backend::nvml {
namespace {

struct Symbols {
  std::mutex mu;
  bool opened = false;
  void* lib = nullptr;                             // REQUIRES: mu
  std::unordered_map<std::string, void*> by_name;  // REQUIRES: mu
};

Symbols& symbols() {
  static auto* s = new Symbols;
  return *s;
}

// The copy plugins.cc loaded (RTLD_NOLOAD: never a second one, never ours by another path).
void* library(Symbols& s) {
  if (!s.opened) {
    s.opened = true;
    s.lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_NOLOAD);
  }
  return s.lib;
}

}  // namespace

bool library_loaded() {
  Symbols& s = symbols();
  std::lock_guard<std::mutex> g(s.mu);
  return library(s) != nullptr;
}

void* real_symbol(const char* name) {
  void* p = library_symbol(name);
  if (p == nullptr) return nullptr;
  if (void* w = visible_devices_wrapper(name)) return w;  // --devices (visible.cc)
  return p;
}

void* library_symbol(const char* name) {
  Symbols& s = symbols();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.by_name.find(name);
  if (it != s.by_name.end()) return it->second;
  void* lib = library(s);
  void* p = lib ? ::dlsym(lib, name) : nullptr;
  if (lib) s.by_name.emplace(name, p);
  return p;
}

}  // namespace gvirtus::backend::nvml
