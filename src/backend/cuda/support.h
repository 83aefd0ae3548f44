// Helpers for the driver-API plugin ("cuda") on the backend, shared by the generated handlers
// (build/gen/cuda_server.cc) and the hand-written ones (cuda_*.cc). Contract with the generator
// (api/cuda.api: server_namespace, server_resolve, handle prefixes).
//
// The worker does not link libcuda.so.1: a backend built here must start on a machine without
// a driver (CI) and answer there as natively (the runtime reports the missing driver). Every
// driver function is looked up once in the driver that the CUDA runtime loads (dlopen of
// libcuda.so.1, so the runtime and the driver API share one driver and one context).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <vector>

#include "backend/dispatch.h"

namespace gvirtus::backend::cuda {

// The real driver's function NAME (its exact export name, e.g. "cuMemAlloc_v2"), or nullptr if
// the driver cannot be loaded or lacks it. Thread-safe; looked up once per name.
void* real_symbol(const char* name);
// Whether the driver could be loaded.
bool driver_loaded();

// What generated handlers call: the real function as F, or nullptr after setting ctx.status
// (no driver: CUDA_ERROR_NO_DEVICE; a driver without this function: CUDA_ERROR_NOT_FOUND).
template <typename F>
F real(CallContext& ctx, const char* name) {
  void* p = real_symbol(name);
  if (!p) {
    ctx.status = driver_loaded() ? CUDA_ERROR_NOT_FOUND : CUDA_ERROR_NO_DEVICE;
    return nullptr;
  }
  return reinterpret_cast<F>(p);
}

// Puts the calling thread's current context, and the runtime's device, back at the end of a
// scope in which the worker makes a device current for its own purpose (cudaSetDevice binds
// that device's primary context). Setting the old device back instead would leave a primary
// context where the client had its own (cuCtxCreate) or none at all, and the client's next
// driver calls would run in it. Without a driver it does nothing. A context the client
// destroys meanwhile on another thread cannot be made current again (the driver refuses it).
class KeepCurrentContext {
 public:
  KeepCurrentContext();
  ~KeepCurrentContext();
  KeepCurrentContext(const KeepCurrentContext&) = delete;
  KeepCurrentContext& operator=(const KeepCurrentContext&) = delete;

 private:
  CUcontext ctx_ = nullptr;
  bool have_ctx_ = false;
  int device_ = -1;
};

// Handle helpers named by api/cuda.api's `handle` lines: <prefix>_in / _out / _release, with
// the rules of cudart's handle_in (cudart/support.h): a stale id sets ctx.status to the
// driver's error for it (CUDA_ERROR_INVALID_CONTEXT for contexts, CUDA_ERROR_INVALID_HANDLE
// otherwise) and returns false; a forged id throws SessionFault. CUstream and cudaStream_t
// share HandleKind::kStream (and events kEvent): the same object has the same id in both APIs.
#define GV_CUDA_HANDLE(prefix, type)                             \
  bool prefix##_in(CallContext& ctx, uint64_t id, type* out);      \
  bool prefix##_release(CallContext& ctx, uint64_t id, type* out); \
  uint64_t prefix##_out(CallContext& ctx, type obj);
GV_CUDA_HANDLE(stream, CUstream)
GV_CUDA_HANDLE(event, CUevent)
GV_CUDA_HANDLE(context, CUcontext)
GV_CUDA_HANDLE(module, CUmodule)
GV_CUDA_HANDLE(function, CUfunction)
GV_CUDA_HANDLE(library, CUlibrary)
GV_CUDA_HANDLE(kernel, CUkernel)
GV_CUDA_HANDLE(linkstate, CUlinkState)
#undef GV_CUDA_HANDLE

// Forgets the image kept for a module or library (cuda/modules.cc); called when its handle is
// released.
void drop_image(CallContext& ctx, const void* handle);
// Before a module or library is unloaded (its handle released): the ids of the functions and
// kernels that die with it, and their parameter layouts, are forgotten (cuda/modules.cc). The
// driver may make a later module's function at the same address; it must get a new id and its
// own layout, not the dead one's (whose arguments would be packed for another kernel).
void forget_children(CallContext& ctx, HandleKind kind, void* obj);

// Reads a launch configuration's attributes as launches and cluster queries send them: u32
// count (at most kMaxLaunchAttributes), that many CUlaunchAttribute, each one that can travel
// as bytes (common/launch_attrs.h), or also one holding an event when `events` (its id is then
// the client's, for the caller to translate). Anything else ends the session, naming `what`.
std::vector<CUlaunchAttribute> launch_attributes_in(CallContext& ctx, const char* what,
                                                    bool events);
// The CUlaunchConfig of cuLaunchKernelEx and the cluster queries: grid and block as the wire
// carries them, and `attrs` (which must outlive the result).
CUlaunchConfig launch_config(const uint32_t grid[3], const uint32_t block[3], uint32_t shmem,
                             CUstream s, std::vector<CUlaunchAttribute>& attrs);

// function_in also accepts a kernel id and gives the CUkernel cast to CUfunction, as the driver
// takes it. A kernel id is a driver kernel's (HandleKind::kDrvKernel) or a runtime kernel's
// (HandleKind::kKernel, the record behind a cudaKernel_t of cudaGetKernel, which natively is a
// CUkernel: its kernel); kernel_in accepts both too.
bool is_kernel_id(uint64_t id);

// The plugin's registration (generated cuda_server.cc).
void register_plugin(Registry& r);

}  // namespace gvirtus::backend::cuda
