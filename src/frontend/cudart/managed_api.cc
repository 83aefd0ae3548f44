// cudaMallocManaged and cudaHostGetDevicePointer: mirrored allocations and aliases (managed.h).
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
    if (managed::alias_device(pHost, pDevice)) return cudaSuccess;
    // Other page-locked memory (cudaMallocHost, cudaHostAlloc, cudaHostRegister) is mapped
    // natively under unified addressing: its whole range gets an alias on first use.
    void* base = nullptr;
    size_t size = 0;
    if (page_locked_range(pHost, &base, &size)) {
      void* dev = nullptr;
      cudaError_t e = managed::alias(base, size, &dev);
      if (e != cudaSuccess) return e;
      *pDevice = static_cast<char*>(dev) + (static_cast<char*>(pHost) - static_cast<char*>(base));
      return cudaSuccess;
    }
    return argument_error(cudaErrorInvalidValue);  // not page-locked: as CUDA answers
  });
}
