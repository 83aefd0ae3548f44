// cudaIpcOpenMemHandle (api/cudart.api 1051): as the driver's cuIpcOpenMemHandle
// (cuda/ipc.cc), the opened range's size comes back with its address, so that the client
// records it as device memory for cudaMemcpyDefault. Client side: src/frontend/cudart/ipc.cc.
//
// Wire: cudaIpcMemHandle_t (64 bytes), u32 flags   reply u64 pointer, u64 size of the range
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/cudart/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cudart {

void handle_cudaIpcOpenMemHandle(CallContext& ctx) {
  cudaIpcMemHandle_t h = ctx.in.get<cudaIpcMemHandle_t>();
  uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  void* p = nullptr;
  ctx.status = cudaIpcOpenMemHandle(&p, h, flags);
  if (ctx.status != cudaSuccess) return;
  // The mapping is the exporter's whole allocation; a range that cannot be read leaves size 0
  // (not recorded on the client).
  uint64_t size = 0;
  CUresult (*range)(CUdeviceptr*, size_t*, CUdeviceptr) = nullptr;
  if (driver_entry("cuMemGetAddressRange", &range) == cudaSuccess) {
    CUdeviceptr base = 0;
    size_t n = 0;
    if (range(&base, &n, reinterpret_cast<uintptr_t>(p)) == CUDA_SUCCESS &&
        base == reinterpret_cast<uintptr_t>(p))
      size = n;
  }
  ctx.out.put<uint64_t>(reinterpret_cast<uintptr_t>(p));
  ctx.out.put<uint64_t>(size);
}

}  // namespace gvirtus::backend::cudart
