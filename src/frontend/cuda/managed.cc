// The driver's managed memory (managed.h). Wire of cuLibraryGetManaged (backend/cuda/managed.cc):
//   request u64 library, string name
//   reply   u64 address, u64 bytes
#include "frontend/cuda/managed.h"

#include <cstring>

#include "frontend/cuda/host_memory.h"
#include "frontend/cuda/local.h"

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

}  // namespace

std::optional<CUresult> local_free_managed(CUdeviceptr p) {
  if (!p) return std::nullopt;
  const client::HostMemoryOps* ops = client::host_memory_ops();  // none loaded: none made
  void* const host = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
  if (!ops || !ops->owns_managed || !ops->owns_managed(host)) return std::nullopt;
  return from_runtime(ops->free_managed(host));
}

}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

GV_EXPORT CUresult cuMemAllocManaged(CUdeviceptr* dptr, size_t bytesize, unsigned int flags) {
  return guarded("cuMemAllocManaged", [&] { return alloc_managed(dptr, bytesize, flags); });
}

GV_EXPORT CUresult cuLibraryGetManaged(CUdeviceptr* dptr, size_t* bytes, CUlibrary library,
                                       const char* name) {
  return guarded("cuLibraryGetManaged",
                 [&] { return library_managed(dptr, bytes, library, name); });
}
