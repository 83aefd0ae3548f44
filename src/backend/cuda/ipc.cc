// cuIpcOpenMemHandle (api/cuda.api 4201): the opened memory's range comes back with its
// address, so the client records it as device memory (cuMemcpy, the runtime's
// cudaMemcpyDefault). Client side: src/frontend/cuda/ipc.cc.
//
// Wire: CUipcMemHandle (64 bytes), u32 flags   reply u64 dptr, u64 size of the opened range
#include <cuda.h>

#include <cstdint>

#include "backend/cuda/support.h"
#include "backend/worker.h"

namespace gvirtus::backend::cuda {

void handle_cuIpcOpenMemHandle_v2(CallContext& ctx) {
  CUipcMemHandle h = ctx.in.get<CUipcMemHandle>();
  uint32_t flags = ctx.in.get<uint32_t>();
  ctx.in.expect_end();
  auto open = real<decltype(&::cuIpcOpenMemHandle)>(ctx, "cuIpcOpenMemHandle_v2");
  auto range = real<decltype(&::cuMemGetAddressRange)>(ctx, "cuMemGetAddressRange_v2");
  if (!open || !range) return;
  CUdeviceptr p = 0;
  ctx.status = open(&p, h, flags);
  if (ctx.status != CUDA_SUCCESS) return;
  CUdeviceptr base = 0;
  size_t size = 0;
  // The mapping is the exporter's whole allocation; if its range cannot be read the pointer is
  // still the application's (size 0: not recorded, asked of the worker when copied).
  if (range(&base, &size, p) != CUDA_SUCCESS || base != p) size = 0;
  ctx.out.put<uint64_t>(p);
  ctx.out.put<uint64_t>(size);
}

}  // namespace gvirtus::backend::cuda
