// cudaMallocManaged and cudaHostGetDevicePointer: mirrored allocations (managed.h).
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaMallocManaged(void** devPtr, size_t size, unsigned int flags) {
  return guarded("cudaMallocManaged", [&] {
    if (flags != cudaMemAttachGlobal && flags != cudaMemAttachHost)
      return argument_error(cudaErrorInvalidValue);
    return managed::allocate(devPtr, size, flags, managed::Kind::kManaged);
  });
}

GV_EXPORT cudaError_t cudaHostGetDevicePointer(void** pDevice, void* pHost, unsigned int flags) {
  return guarded("cudaHostGetDevicePointer", [&] {
    if (!pDevice || !pHost || flags != 0) return argument_error(cudaErrorInvalidValue);
    if (managed::contains(pHost)) {
      *pDevice = pHost;  // mirrored: the device address is the host address
      return cudaSuccess;
    }
    gvirtus::log::once(gvirtus::log::Level::kError, "mapped:getdeviceptr",
              "cudaHostGetDevicePointer: only memory from cudaHostAlloc with cudaHostAllocMapped "
              "(or cudaMallocManaged) is reachable from the device under GVirtuS; other host "
              "memory fails with cudaErrorNotSupported");
    return fail(cudaErrorNotSupported);
  });
}
