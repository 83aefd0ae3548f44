// Page-locked and mapped host memory, one implementation for the process: libcudart.so.13's
// (cudaMallocHost & co., mapped memory by mirrored allocations and aliases,
// src/frontend/cudart/host_memory.cc and managed.h) registers its entry points here when it
// loads, and libcuda.so.1's cuMemAllocHost / cuMemHostAlloc / cuMemHostRegister /
// cuMemHostGetDevicePointer / cuMemHostGetFlags use them. So one table knows every block
// (cudaFreeHost of cuMemHostAlloc memory works, as natively), and mapped memory made through
// either API is kept coherent by the same machinery. Results are the runtime's error numbers,
// which are the driver's for every failure these give on a GPU (invalid value 1, out of memory
// 2, already registered 712, not registered 713, not supported 801); libcuda.so.1 maps the rest
// (src/frontend/cuda/host_memory.cc). The functions leave the runtime's last error as it was:
// they are the driver API's calls.
#pragma once
#include <cstddef>
#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::client {

struct HostMemoryOps {
  int32_t (*alloc)(void** p, size_t size, unsigned flags) = nullptr;  // cudaHostAlloc
  int32_t (*free)(void* p) = nullptr;                                   // cudaFreeHost
  int32_t (*register_range)(void* p, size_t size, unsigned flags) = nullptr;  // cudaHostRegister
  int32_t (*unregister)(void* p) = nullptr;                                   // cudaHostUnregister
  int32_t (*device_pointer)(void** dev, void* host) = nullptr;  // cudaHostGetDevicePointer
  int32_t (*flags)(unsigned* flags, void* p) = nullptr;         // cudaHostGetFlags
  // Whether p lies in page-locked host memory of the table (allocated or registered).
  bool (*is_page_locked)(const void* p) = nullptr;
  // Managed memory, the same mirrored allocations for both APIs (cudart/managed.h), for
  // libcuda.so.1's cuMemAllocManaged, cuMemFree and cuLibraryGetManaged:
  int32_t (*alloc_managed)(void** p, size_t size, unsigned flags) = nullptr;  // cudaMallocManaged
  // Whether p is the start of such an allocation; free_managed frees one (both sides).
  bool (*owns_managed)(const void* p) = nullptr;
  int32_t (*free_managed)(void* p) = nullptr;
  // Mirrors managed memory the worker already has at addr (a __managed__ variable).
  int32_t (*adopt_managed)(uint64_t addr, size_t size) = nullptr;
  // The exchange points of those allocations (cudart/managed.h), which libcuda.so.1's own copy
  // engine and callback thread reach directly (not through a call hook), and whether p lies in
  // one of them (a copy's direction rules).
  void (*before_device_work)() = nullptr;
  void (*after_synchronisation)() = nullptr;
  void (*before_callback)() = nullptr;
  void (*after_callback)() = nullptr;
  bool (*contains_managed)(const void* p) = nullptr;
  // Whether a device free (cudaFree, cuMemFree) of p is refused here: p lies in managed memory
  // (not at its start) or mapped host memory this process mirrors (managed.h, refuses_free).
  bool (*refuses_free)(const void* p) = nullptr;
  // A device reset freed the worker's copies (managed.h, drop_after_reset).
  void (*drop_after_reset)(int device) = nullptr;
};

// Installs the runtime's implementation (once; later calls are ignored).
GV_API void set_host_memory_ops(const HostMemoryOps& ops);
// The installed implementation, or nullptr if none is.
GV_API const HostMemoryOps* host_memory_ops();

}  // namespace gvirtus::client
