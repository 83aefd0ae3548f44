// The __managed__ variable table; see managed_var_table.h and managed_vars.cc.
#include "frontend/cudart/managed_var_table.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "frontend/cudart/error_table.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart {

namespace {

struct ManagedVar {
  Module* module = nullptr;
  void** host_ptr = nullptr;  // nvcc's pointer to the variable, what __cudaInitModule fills
  bool mirrored = false;
};

struct Vars {
  std::mutex mu;  // the list, and one initialisation at a time
  std::vector<ManagedVar> list;
  // Variables registered and not mirrored yet: while 0, __cudaInitModule (called from any
  // thread, host callbacks included) returns at once, taking no lock.
  std::atomic<size_t> unmirrored{0};
};

Vars& vars() {
  static auto* v = new Vars;  // never destroyed: modules unregister from static destructors
  return *v;
}

// Points one variable's host pointer at its mirrored copy. REQUIRES: vars().mu held.
cudaError_t init_var(ManagedVar& mv) {
  uint64_t address = 0;
  size_t size = 0;
  cudaError_t e = resolve_variable(mv.host_ptr, &address, &size);
  if (e != cudaSuccess) return e;
  e = managed::adopt(address, size);
  if (e != cudaSuccess) return e;
  *mv.host_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(address));
  mv.mirrored = true;
  vars().unmirrored.fetch_sub(1, std::memory_order_release);
  return cudaSuccess;
}

}  // namespace

void mirror_managed_variables(Module* m) {
  Vars& v = vars();
  if (v.unmirrored.load(std::memory_order_acquire) == 0) return;
  try {
    std::lock_guard<std::mutex> g(v.mu);
    for (ManagedVar& mv : v.list) {
      if (mv.module != m || mv.mirrored) continue;
      const cudaError_t before = peek_last_error();
      if (init_var(mv) != cudaSuccess) set_last_error(before);  // __cudaInitModule reports it
    }
  } catch (...) {
  }
}

namespace managed_vars {

void add(Module* m, void** host_ptr) {
  Vars& v = vars();
  std::lock_guard<std::mutex> g(v.mu);
  v.list.push_back(ManagedVar{m, host_ptr, false});
  v.unmirrored.fetch_add(1, std::memory_order_release);
}

bool init_module(Module* m) {
  Vars& v = vars();
  // Every variable mirrored already (the usual case once a kernel of the module was resolved:
  // mirror_managed_variables): nothing to wait for, nothing to ask.
  if (v.unmirrored.load(std::memory_order_acquire) == 0) return true;
  std::lock_guard<std::mutex> g(v.mu);
  bool ok = true;
  for (ManagedVar& mv : v.list) {
    if (mv.module != m || mv.mirrored) continue;
    cudaError_t e = init_var(mv);
    if (e != cudaSuccess) {
      ok = false;
      log::once(log::Level::kError, "managed:var-init",
                std::string("__managed__ variable could not be mirrored (") +
                    error_name(e) + "); its host pointer stays NULL");
    }
  }
  return ok;
}

}  // namespace managed_vars

}  // namespace gvirtus::cudart
