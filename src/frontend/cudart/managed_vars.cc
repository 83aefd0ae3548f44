// __managed__ variables. nvcc gives each one a host pointer (`static T* var`) and registers it
// with __cudaRegisterManagedVar(handle, &var, ...); host code reads the variable through that
// pointer, after calling __cudaInitModule(handle) once, which must point it at the variable's
// managed memory. Here the variable's address on the worker comes from gvManagedVarGet
// (cudaLibraryGetManaged), and the variable is mirrored at that same address (managed::adopt),
// so host code, kernels and pointers to the variable agree, exchanged like cudaMallocManaged
// memory (managed.h).
#include <mutex>
#include <vector>

#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"
#include "frontend/cudart/modules.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

namespace {

struct ManagedVar {
  Module* module = nullptr;
  void** host_ptr = nullptr;  // nvcc's pointer to the variable, what __cudaInitModule fills
  bool mirrored = false;
};

struct Vars {
  std::mutex mu;  // the list, and one initialisation at a time
  std::vector<ManagedVar> list;
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
  return cudaSuccess;
}

}  // namespace

GV_EXPORT void __cudaRegisterManagedVar(void** fatCubinHandle, void** hostVarPtrAddress,
                                        char* deviceAddress, const char* deviceName, int ext,
                                        size_t size, int constant, int global) {
  (void)deviceAddress, (void)ext, (void)global;
  try {
    if (!hostVarPtrAddress || !deviceName) return;
    auto* m = reinterpret_cast<Module*>(fatCubinHandle);
    // The pointer's address is the variable's symbol for the symbol functions too.
    register_variable(m, hostVarPtrAddress, deviceName, size, constant != 0, /*managed=*/true);
    Vars& v = vars();
    std::lock_guard<std::mutex> g(v.mu);
    v.list.push_back(ManagedVar{m, hostVarPtrAddress, false});
  } catch (...) {
  }
}

// Returns 1 once every managed variable of the module points at its copy; 0 (and a log line) if
// one could not be mirrored: its host pointer stays NULL, so the program cannot use a pointer
// that means two things.
GV_EXPORT char __cudaInitModule(void** fatCubinHandle) {
  try {
    auto* m = reinterpret_cast<Module*>(fatCubinHandle);
    Vars& v = vars();
    std::lock_guard<std::mutex> g(v.mu);
    bool ok = true;
    for (ManagedVar& mv : v.list) {
      if (mv.module != m || mv.mirrored) continue;
      cudaError_t e = init_var(mv);
      if (e != cudaSuccess) {
        ok = false;
        log::once(log::Level::kError, "managed:var-init",
                  std::string("__managed__ variable could not be mirrored (") +
                      cudaGetErrorName(e) + "); its host pointer stays NULL");
      }
    }
    return ok ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
