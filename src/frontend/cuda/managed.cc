// The driver's managed memory (managed.h). Wire of cuLibraryGetManaged (backend/cuda/managed.cc):
//   request u64 library, string name
//   reply   u64 address, u64 bytes
#include "frontend/cuda/managed.h"
#include "frontend/cudart/glue.h"

#include <cstring>

#include "frontend/cuda/host_memory.h"
#include "frontend/cuda/local.h"

// The hints' pre-12.2 forms took a CUdevice where the current ones take a CUmemLocation; cuda.h
// maps the names to the current forms, and declares the old ones only for the driver's build.
#undef cuMemAdvise
#undef cuMemPrefetchAsync
extern "C" {
CUresult cuMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device);
CUresult cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream s);
CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr devPtr, size_t count, CUmemLocation location,
                                    unsigned int flags, CUstream s);
}

namespace gvirtus::cuda {
namespace {

constexpr size_t kMaxName = 4096;  // api/cuda.api's string bound

const client::HostMemoryOps* managed_ops(const char* fn) {
  const client::HostMemoryOps* ops = runtime_ops();
  if (!ops || !ops->alloc_managed) {
    refuse(fn, "managed memory without GVirtuS's libcudart.so.13 beside libcuda.so.1 (managed "
               "memory is the runtime's emulation)");
    return nullptr;
  }
  return ops;
}

CUresult alloc_managed(CUdeviceptr* dptr, size_t bytes, unsigned flags) {
  if (!dptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST)
    return CUDA_ERROR_INVALID_VALUE;
  const client::HostMemoryOps* ops = managed_ops("cuMemAllocManaged");
  if (!ops) return CUDA_ERROR_NOT_SUPPORTED;
  void* p = nullptr;
  // CU_MEM_ATTACH_GLOBAL / _HOST have the runtime's values (cudaMemAttachGlobal / Host).
  const CUresult e = from_runtime(ops->alloc_managed(&p, bytes, flags));
  if (e == CUDA_SUCCESS) *dptr = reinterpret_cast<uintptr_t>(p);
  return e;
}

// The variable's address and size from the worker, then its host copy at that address (the
// static runtime points nvcc's host pointer there, and host code reads the variable through it).
CUresult library_managed(CUdeviceptr* dptr, size_t* bytes, CUlibrary lib, const char* name) {
  if (!name) return CUDA_ERROR_INVALID_VALUE;
  if (::strnlen(name, kMaxName + 1) > kMaxName) return CUDA_ERROR_INVALID_VALUE;
  const client::HostMemoryOps* ops = managed_ops("cuLibraryGetManaged");
  if (!ops) return CUDA_ERROR_NOT_SUPPORTED;
  client::Call c(id(kCall_cuLibraryGetManaged));
  c.args().put<uint64_t>(to_wire(lib));
  c.args().put_string(name);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  const uint64_t addr = c.result().get<uint64_t>();
  const uint64_t size = c.result().get<uint64_t>();
  c.result().expect_end();
  e = from_runtime(ops->adopt_managed(addr, static_cast<size_t>(size)));
  if (e != CUDA_SUCCESS) return e;
  if (dptr) *dptr = addr;
  if (bytes) *bytes = static_cast<size_t>(size);
  return CUDA_SUCCESS;
}

// A device of the old forms as a location: CU_DEVICE_CPU is the host.
CUmemLocation location_of(CUdevice dev) {
  CUmemLocation l{};
  if (dev == CU_DEVICE_CPU) {
    l.type = CU_MEM_LOCATION_TYPE_HOST;
  } else {
    l.type = CU_MEM_LOCATION_TYPE_DEVICE;
    l.id = dev;
  }
  return l;
}

}  // namespace

std::optional<CUresult> local_free_managed(CUdeviceptr p) {
  if (!p) return std::nullopt;
  const client::HostMemoryOps* ops = client::host_memory_ops();  // none loaded: none made
  void* const host = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
  if (!ops || !ops->owns_managed || !ops->owns_managed(host)) return std::nullopt;
  return from_runtime(ops->free_managed(host));
}

std::optional<CUresult> before_free(CUdeviceptr p, bool managed_here) {
  if (managed_here)
    if (auto r = local_free_managed(p)) return r;
  // Inside mapped host memory or a managed allocation (not at its start): natively refused;
  // sent on, the worker would free the mirror's backing under it.
  const client::HostMemoryOps* ops = client::host_memory_ops();
  if (p && ops && ops->refuses_free &&
      ops->refuses_free(reinterpret_cast<void*>(static_cast<uintptr_t>(p))))
    return CUDA_ERROR_INVALID_VALUE;
  cudart::free_begins(p);
  return std::nullopt;
}

}  // namespace gvirtus::cuda

// Generated in this library; cuda.h declares it only for the driver's own build.
extern "C" CUresult cuStreamSynchronize_ptsz(CUstream hStream);

namespace gvirtus::cuda {

void managed_reset(CUdevice dev) {
  const client::HostMemoryOps* ops = client::host_memory_ops();
  if (ops && ops->drop_after_reset) ops->drop_after_reset(static_cast<int>(dev));
}

std::optional<CUresult> before_free_async(CUdeviceptr p, CUstream stream, bool per_thread) {
  const client::HostMemoryOps* ops = client::host_memory_ops();
  void* const host = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
  if (p && ops && ops->owns_managed && ops->owns_managed(host)) {
    const CUresult e = per_thread ? cuStreamSynchronize_ptsz(stream) : cuStreamSynchronize(stream);
    if (e != CUDA_SUCCESS) return e;
    return from_runtime(ops->free_managed(host));
  }
  return before_free(p, false);
}

}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuMemAllocManaged(CUdeviceptr* dptr, size_t bytesize, unsigned int flags) {
  return guarded("cuMemAllocManaged", [&] { return alloc_managed(dptr, bytesize, flags); });
}

GV_EXPORT CUresult cuMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice,
                               CUdevice device) {
  return ::cuMemAdvise_v2(devPtr, count, advice, location_of(device));
}
GV_EXPORT CUresult cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice,
                                      CUstream s) {
  return ::cuMemPrefetchAsync_v2(devPtr, count, location_of(dstDevice), 0, s);
}
GV_EXPORT CUresult cuMemPrefetchAsync_ptsz(CUdeviceptr devPtr, size_t count, CUdevice dstDevice,
                                           CUstream s) {
  return ::cuMemPrefetchAsync_v2_ptsz(devPtr, count, location_of(dstDevice), 0, s);
}

// One cuMemRangeGetAttribute per attribute, stopping at the first failure (the driver's plural
// form fails as a whole too).
GV_EXPORT CUresult cuMemRangeGetAttributes(void** data, size_t* dataSizes,
                                           CUmem_range_attribute* attributes,
                                           size_t numAttributes, CUdeviceptr devPtr,
                                           size_t count) {
  return guarded("cuMemRangeGetAttributes", [&]() -> CUresult {
    if (!data || !dataSizes || !attributes || numAttributes == 0)
      return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < numAttributes; ++i) {
      const CUresult e =
          ::cuMemRangeGetAttribute(data[i], dataSizes[i], attributes[i], devPtr, count);
      if (e != CUDA_SUCCESS) return e;
    }
    return CUDA_SUCCESS;
  });
}

GV_EXPORT CUresult cuLibraryGetManaged(CUdeviceptr* dptr, size_t* bytes, CUlibrary library,
                                       const char* name) {
  return guarded("cuLibraryGetManaged",
                 [&] { return library_managed(dptr, bytes, library, name); });
}
