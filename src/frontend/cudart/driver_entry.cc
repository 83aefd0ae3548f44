// cudaGetDriverEntryPoint / cudaGetDriverEntryPointByVersion (and _ptsz): driver functions for
// programs that call the driver API through the runtime (PyTorch, Triton, CUTLASS). The answer
// comes from libcuda.so.1's cuGetProcAddress: under `gvirtus run` that is GVirtuS's driver
// library (src/frontend/cuda), whose functions reach the same session as this runtime. The
// flag values of both APIs are the same numbers (cudaEnable* = CU_GET_PROC_ADDRESS_*).
#include <dlfcn.h>

#include "frontend/cudart/local.h"

namespace gvirtus::cudart {
namespace {

// cuGetProcAddress_v2's signature, without including cuda.h here.
using GetProc = int (*)(const char*, void**, int, unsigned long long, int*);

GetProc driver_get_proc() {
  static GetProc fn = [] {
    void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    return h ? reinterpret_cast<GetProc>(::dlsym(h, "cuGetProcAddress_v2")) : nullptr;
  }();
  return fn;
}

cudaError_t entry_point(const char* symbol, void** funcPtr, int version, unsigned long long flags,
                        cudaDriverEntryPointQueryResult* status, bool ptsz) {
  if (!symbol || !funcPtr) return fail(cudaErrorInvalidValue);
  if (flags & ~static_cast<unsigned long long>(cudaEnableLegacyStream |
                                               cudaEnablePerThreadDefaultStream))
    return fail(cudaErrorInvalidValue);
  // A per-thread-default-stream program (_ptsz entry) gets per-thread forms by default.
  if (ptsz && flags == cudaEnableDefault) flags = cudaEnablePerThreadDefaultStream;
  GetProc get = driver_get_proc();
  if (!get) {
    log::once(log::Level::kError, "driver-entry",
              "cudaGetDriverEntryPoint: libcuda.so.1 cannot be loaded; GVirtuS's driver library "
              "is found through `gvirtus run` (LD_LIBRARY_PATH)");
    return fail(cudaErrorNotSupported);
  }
  int st = 0;
  *funcPtr = nullptr;
  int r = get(symbol, funcPtr, version, flags, &st);
  if (status) *status = static_cast<cudaDriverEntryPointQueryResult>(st);
  return r == 0 ? cudaSuccess : fail(static_cast<cudaError_t>(r));
}

}  // namespace
}  // namespace gvirtus::cudart

using namespace gvirtus::cudart;

#undef cudaGetDriverEntryPoint
#undef cudaGetDriverEntryPointByVersion
extern "C" cudaError_t cudaGetDriverEntryPoint_ptsz(const char*, void**, unsigned long long,
                                                   cudaDriverEntryPointQueryResult*);
extern "C" cudaError_t cudaGetDriverEntryPointByVersion_ptsz(const char*, void**, unsigned int,
                                                            unsigned long long,
                                                            cudaDriverEntryPointQueryResult*);

GV_EXPORT cudaError_t cudaGetDriverEntryPoint(const char* symbol, void** funcPtr,
                                              unsigned long long flags,
                                              cudaDriverEntryPointQueryResult* status) {
  return guarded("cudaGetDriverEntryPoint", [&] {
    return entry_point(symbol, funcPtr, CUDART_VERSION, flags, status, false);
  });
}
GV_EXPORT cudaError_t cudaGetDriverEntryPoint_ptsz(const char* symbol, void** funcPtr,
                                                   unsigned long long flags,
                                                   cudaDriverEntryPointQueryResult* status) {
  return guarded("cudaGetDriverEntryPoint_ptsz", [&] {
    return entry_point(symbol, funcPtr, CUDART_VERSION, flags, status, true);
  });
}
GV_EXPORT cudaError_t cudaGetDriverEntryPointByVersion(const char* symbol, void** funcPtr,
                                                       unsigned int version,
                                                       unsigned long long flags,
                                                       cudaDriverEntryPointQueryResult* status) {
  return guarded("cudaGetDriverEntryPointByVersion", [&] {
    return entry_point(symbol, funcPtr, static_cast<int>(version), flags, status, false);
  });
}
GV_EXPORT cudaError_t cudaGetDriverEntryPointByVersion_ptsz(
    const char* symbol, void** funcPtr, unsigned int version, unsigned long long flags,
    cudaDriverEntryPointQueryResult* status) {
  return guarded("cudaGetDriverEntryPointByVersion_ptsz", [&] {
    return entry_point(symbol, funcPtr, static_cast<int>(version), flags, status, true);
  });
}
