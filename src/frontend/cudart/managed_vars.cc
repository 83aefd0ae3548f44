// __managed__ variables. nvcc gives each one a host pointer (`static T* var`) and registers it
// with __cudaRegisterManagedVar(handle, &var, ...); host code reads the variable through that
// pointer, after calling __cudaInitModule(handle) once, which must point it at the variable's
// managed memory. Here the variable's address on the worker comes from gvManagedVarGet
// (cudaLibraryGetManaged), and the variable is mirrored at that same address (managed::adopt),
// so host code, kernels and pointers to the variable agree, exchanged like cudaMallocManaged
// memory (managed.h).
// The table and the mirroring are managed_var_table.h; a module's variables are mirrored when
// its first kernel is resolved too (modules.h, mirror_managed_variables).
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed_var_table.h"
#include "frontend/cudart/modules.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

GV_EXPORT void __cudaRegisterManagedVar(void** fatCubinHandle, void** hostVarPtrAddress,
                                        char* deviceAddress, const char* deviceName, int ext,
                                        size_t size, int constant, int global) {
  (void)deviceAddress, (void)ext, (void)global;
  try {
    if (!hostVarPtrAddress || !deviceName) return;
    auto* m = reinterpret_cast<Module*>(fatCubinHandle);
    // The pointer's address is the variable's symbol for the symbol functions too.
    register_variable(m, hostVarPtrAddress, deviceName, size, constant != 0, /*managed=*/true);
    managed_vars::add(m, hostVarPtrAddress);
  } catch (...) {
  }
}

// Returns 1 once every managed variable of the module points at its copy; 0 (and a log line) if
// one could not be mirrored: its host pointer stays NULL, so the program cannot use a pointer
// that means two things.
GV_EXPORT char __cudaInitModule(void** fatCubinHandle) {
  try {
    return managed_vars::init_module(reinterpret_cast<Module*>(fatCubinHandle)) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
