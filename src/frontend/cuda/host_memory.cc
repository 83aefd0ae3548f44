// The driver's host memory (host_memory.h).
#include "frontend/cuda/host_memory.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "frontend/core/deliveries.h"
#include "frontend/core/host_memory_ops.h"
#include "frontend/core/ranges.h"
#include "frontend/cuda/local.h"
#include "frontend/cudart/transfer.h"

namespace gvirtus::cuda {

// The runtime's implementation; loads GVirtuS's libcudart.so.13 from this library's folder
// (where the build and the install put it) once if the program has not loaded it.
const client::HostMemoryOps* runtime_ops() {
  if (const client::HostMemoryOps* ops = client::host_memory_ops()) return ops;
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info{};
    if (!::dladdr(reinterpret_cast<void*>(&runtime_ops), &info) || !info.dli_fname) return;
    std::string path = info.dli_fname;
    const size_t slash = path.rfind('/');
    path = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) +
           "/libcudart.so.13";
    if (!::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL))
      GV_INFO("driver API: cannot load " + path + " for mapped host and managed memory: " +
              ::dlerror());
  });
  return client::host_memory_ops();
}

// The runtime's answer as the driver's. The failures these calls give have the same numbers in
// both APIs (invalid value 1, out of memory 2, already registered 712, not registered 713, not
// supported 801); a worker without a driver makes the runtime answer "insufficient driver"
// (35), where the driver API's calls answer CUDA_ERROR_NO_DEVICE. Anything else the driver has
// no code for is CUDA_ERROR_UNKNOWN.
CUresult from_runtime(int32_t e) {
  if (e == 35) return CUDA_ERROR_NO_DEVICE;  // cudaErrorInsufficientDriver
  const char* name = nullptr;
  const CUresult r = static_cast<CUresult>(e);
  return ::cuGetErrorName(r, &name) == CUDA_SUCCESS && name ? r : CUDA_ERROR_UNKNOWN;
}

namespace {

// Without the runtime: ordinary page-aligned memory, remembered here.
client::RangeMap& own_allocs() {
  static auto* m = new client::RangeMap;  // tag: cuMemHostAlloc flags
  return *m;
}
client::RangeMap& own_registered() {
  static auto* m = new client::RangeMap;  // tag: cuMemHostRegister flags
  return *m;
}

size_t page_round(size_t n) {
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (n > SIZE_MAX - (page - 1)) return 0;
  return (n + page - 1) / page * page;
}

CUresult host_alloc(void** pp, size_t size, unsigned int flags, const char* fn) {
  if (!pp) return CUDA_ERROR_INVALID_VALUE;
  constexpr unsigned kKnown =
      CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED;
  if (flags & ~kKnown) return CUDA_ERROR_INVALID_VALUE;
  if (size == 0) return CUDA_ERROR_INVALID_VALUE;
  // The flags have the runtime's values (cudaHostAllocPortable / Mapped / WriteCombined).
  if (const client::HostMemoryOps* ops = runtime_ops())
    return from_runtime(ops->alloc(pp, size, flags));
  if (flags & CU_MEMHOSTALLOC_DEVICEMAP)
    return refuse(fn, "CU_MEMHOSTALLOC_DEVICEMAP without GVirtuS's libcudart.so.13 beside "
                      "libcuda.so.1 (mapped host memory is the runtime's emulation)");
  size_t len = page_round(size);
  if (len == 0) return CUDA_ERROR_OUT_OF_MEMORY;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  if (!own_allocs().add(reinterpret_cast<uintptr_t>(p), len, flags)) {
    ::munmap(p, len);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *pp = p;
  return CUDA_SUCCESS;
}

CUresult free_host(void* p) {
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  client::RangeMap::Range r;
  if (own_allocs().remove(reinterpret_cast<uintptr_t>(p), &r)) {
    // Asynchronous copies into it still to land are dropped (frontend/core/deliveries.h).
    client::deliveries::forget_range(p, r.size);
    ::munmap(p, r.size);
    return CUDA_SUCCESS;
  }
  if (const client::HostMemoryOps* ops = runtime_ops())
    return from_runtime(ops->free(p));
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult host_register(void* p, size_t size, unsigned int flags) {
  constexpr unsigned kKnown = CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                              CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY;
  if (!p || size == 0 || (flags & ~kKnown)) return CUDA_ERROR_INVALID_VALUE;
  if (flags & CU_MEMHOSTREGISTER_IOMEMORY)
    return refuse("cuMemHostRegister", "CU_MEMHOSTREGISTER_IOMEMORY");
  // The flags have the runtime's values (cudaHostRegisterPortable / Mapped / ReadOnly).
  if (const client::HostMemoryOps* ops = runtime_ops())
    return from_runtime(ops->register_range(p, size, flags));
  if (flags & CU_MEMHOSTREGISTER_DEVICEMAP)
    return refuse("cuMemHostRegister", "CU_MEMHOSTREGISTER_DEVICEMAP without GVirtuS's "
                                       "libcudart.so.13 beside libcuda.so.1");
  if (!own_registered().add(reinterpret_cast<uintptr_t>(p), size, flags))
    return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  return CUDA_SUCCESS;
}

CUresult host_unregister(void* p) {
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  client::RangeMap::Range r;
  if (own_registered().remove(reinterpret_cast<uintptr_t>(p), &r)) {
    // No longer page-locked: copies into it still to land land now (deliveries.h).
    return client::deliveries::wait_range(p, r.size) ? CUDA_SUCCESS : lost();
  }
  if (const client::HostMemoryOps* ops = runtime_ops())
    return from_runtime(ops->unregister(p));
  return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

CUresult host_flags(unsigned int* flags, void* p) {
  if (!flags || !p) return CUDA_ERROR_INVALID_VALUE;
  client::RangeMap::Range r;
  // With unified addressing the driver reports every page-locked allocation as mapped (seen on
  // the GPU machine: cuMemAllocHost memory answers CU_MEMHOSTALLOC_DEVICEMAP).
  if (own_allocs().find(reinterpret_cast<uintptr_t>(p), &r)) {
    *flags = r.tag | CU_MEMHOSTALLOC_DEVICEMAP;
    return CUDA_SUCCESS;
  }
  if (own_registered().find(reinterpret_cast<uintptr_t>(p), &r)) {
    *flags = r.tag;
    return CUDA_SUCCESS;
  }
  if (const client::HostMemoryOps* ops = runtime_ops())
    return from_runtime(ops->flags(flags, p));
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult device_pointer(CUdeviceptr* pdptr, void* p, unsigned int flags) {
  if (!pdptr || !p || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  const client::HostMemoryOps* ops = runtime_ops();
  if (!ops)
    return refuse("cuMemHostGetDevicePointer", "mapped host memory without GVirtuS's "
                                               "libcudart.so.13 beside libcuda.so.1");
  void* dev = nullptr;
  CUresult e = from_runtime(ops->device_pointer(&dev, p));
  if (e == CUDA_SUCCESS) *pdptr = reinterpret_cast<uintptr_t>(dev);
  return e;
}

}  // namespace

bool is_page_locked_host(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (!a) return false;
  if (own_allocs().find(a) || own_registered().find(a)) return true;
  const client::HostMemoryOps* ops = client::host_memory_ops();
  return ops && ops->is_page_locked(p);
}

namespace {
// This library's copy engine (its own copy of the runtime's) tells page-locked memory by this
// library's tables too: a program without libcudart.so.13 (a statically linked runtime) gets
// asynchronous copies as well.
struct ProbeInstaller {
  ProbeInstaller() { cudart::set_page_locked_probe(&is_page_locked_host); }
} g_probe_installer;
}  // namespace

}  // namespace gvirtus::cuda

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuMemAllocHost_v2(void** pp, size_t size) {
  return guarded("cuMemAllocHost_v2", [&] { return host_alloc(pp, size, 0, "cuMemAllocHost"); });
}
GV_EXPORT CUresult cuMemHostAlloc(void** pp, size_t size, unsigned int flags) {
  return guarded("cuMemHostAlloc", [&] { return host_alloc(pp, size, flags, "cuMemHostAlloc"); });
}
GV_EXPORT CUresult cuMemFreeHost(void* p) {
  return guarded("cuMemFreeHost", [&] { return free_host(p); });
}
GV_EXPORT CUresult cuMemHostRegister_v2(void* p, size_t size, unsigned int flags) {
  return guarded("cuMemHostRegister_v2", [&] { return host_register(p, size, flags); });
}
GV_EXPORT CUresult cuMemHostUnregister(void* p) {
  return guarded("cuMemHostUnregister", [&] { return host_unregister(p); });
}
GV_EXPORT CUresult cuMemHostGetFlags(unsigned int* flags, void* p) {
  return guarded("cuMemHostGetFlags", [&] { return host_flags(flags, p); });
}
GV_EXPORT CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr* pdptr, void* p, unsigned int flags) {
  return guarded("cuMemHostGetDevicePointer_v2", [&] { return device_pointer(pdptr, p, flags); });
}
