// cudaIpcOpenMemHandle: the opened pointer is device memory of this process for
// cudaMemcpyDefault, so its range (the exporter's allocation, sent back by the worker) is
// recorded with the other device allocations; cudaIpcCloseMemHandle (generated) forgets it at the
// last close (client::ipc_opened).
// Wire: src/backend/cudart/ipc.cc.
#include "frontend/cudart/local.h"
#include "frontend/core/ranges.h"

using namespace gvirtus;
using namespace gvirtus::cudart;

GV_EXPORT cudaError_t cudaIpcOpenMemHandle(void** devPtr, cudaIpcMemHandle_t handle,
                                           unsigned int flags) {
  return guarded("cudaIpcOpenMemHandle", [&] {
    if (!devPtr) return argument_error(cudaErrorInvalidValue);
    client::Call c(id(Call::kCall_cudaIpcOpenMemHandle));
    c.args().put<cudaIpcMemHandle_t>(handle);
    c.args().put<uint32_t>(flags);
    if (!c.invoke()) return lost();
    cudaError_t e = finish(c);
    if (e != cudaSuccess) return e;
    const uint64_t p = c.result().get<uint64_t>();
    const uint64_t size = c.result().get<uint64_t>();
    c.result().expect_end();
    client::ipc_opened(static_cast<uintptr_t>(p), static_cast<size_t>(size));
    *devPtr = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
    return cudaSuccess;
  });
}
