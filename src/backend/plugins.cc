// Loading library plugins (plugins.h).
#include "backend/plugins.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/log.h"

namespace gvirtus::backend {
namespace {

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

// GVirtuS's own frontend (libcublas.so.13 & co. depend on the client core) would forward every
// call to itself: a backend started with the frontend's directory on its library path.
bool is_our_frontend(void* handle) {
  return ::dlsym(handle, "_ZN7gvirtus6client10connectionEv") != nullptr;
}

// Loads one real library for good (RTLD_GLOBAL: the plugin's dependency on its SONAME is then
// satisfied by this copy). Returns an error text, empty on success.
std::string load_real(const char* soname) {
  std::vector<std::string> tries;
  for (const auto& d : split_path(library_search_path())) tries.push_back(d + "/" + soname);
  tries.push_back(soname);  // the dynamic loader's search (LD_LIBRARY_PATH, ld.so.cache)
  if (const char* home = std::getenv("CUDA_HOME"))
    tries.push_back(std::string(home) + "/lib64/" + soname);
  tries.push_back(std::string("/usr/local/cuda/lib64/") + soname);
  std::string why;
  for (const auto& t : tries) {
    if (t.find('/') != std::string::npos && ::access(t.c_str(), F_OK) != 0) continue;
    void* h = ::dlopen(t.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      const char* e = ::dlerror();
      why = e ? e : "dlopen failed";
      continue;
    }
    if (is_our_frontend(h)) {
      // Its SONAME is taken now: the plugin would bind to it. Refuse the plugin outright.
      return t + " is GVirtuS's frontend library, not NVIDIA's; remove the GVirtuS library "
             "directory from the backend's LD_LIBRARY_PATH";
    }
    GV_INFO(std::string("loaded ") + soname + " from " + t);
    return "";
  }
  std::string msg = std::string("cannot load ") + soname;
  if (!why.empty()) msg += " (" + why + ")";
  return msg + "; install it on the GPU host or name its directory in GVIRTUS_LIBRARY_PATH or "
               "the config file's \"library_path\"";
}

}  // namespace

std::string library_search_path() {
  const char* v = std::getenv("GVIRTUS_LIBRARY_PATH");
  return v ? v : "";
}

std::string plugin_dir() {
  const char* v = std::getenv("GVIRTUS_PLUGIN_DIR");
  if (v && *v) return v;
  return exe_dir() + "/../lib/gvirtus/backend";
}

const PluginTable* load_library_plugin(const LibraryPlugin& p, std::string* error) {
  for (const char* const* s = p.sonames; s && *s; ++s) {
    std::string e = load_real(*s);
    if (!e.empty()) {
      *error = e;
      return nullptr;
    }
  }
  std::string file = plugin_dir() + "/libgvirtus-backend-" + p.name + ".so";
  void* h = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = ::dlerror();
    *error = "cannot load the plugin " + file + ": " + (e ? e : "dlopen failed");
    return nullptr;
  }
  std::string entry = std::string("gvirtus_backend_plugin_v1_") + p.name;
  auto fn = reinterpret_cast<const PluginTable* (*)()>(::dlsym(h, entry.c_str()));
  const PluginTable* t = fn ? fn() : nullptr;
  if (!t) {
    *error = file + " has no " + entry + " (a plugin of another GVirtuS version?)";
    return nullptr;
  }
  for (size_t i = 0; i < t->count; ++i) {
    uint32_t id = t->entries[i].call_id;
    if (id < p.first_id || id > p.last_id || !t->entries[i].fn) {
      *error = file + ": call id " + std::to_string(id) + " outside " + std::to_string(p.first_id) +
               "-" + std::to_string(p.last_id) + " or without a handler";
      return nullptr;
    }
  }
  return t;
}

}  // namespace gvirtus::backend
