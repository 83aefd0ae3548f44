// cuIpcOpenMemHandle: the opened pointer is device memory of this process, so its range (the
// exporter's allocation, sent back by the worker) is recorded with the other device
// allocations (cuMemcpy and the runtime's cudaMemcpyDefault); cuIpcCloseMemHandle (generated)
// forgets it at the last close (client::ipc_opened). Wire: src/backend/cuda/ipc.cc.
#include "frontend/cuda/local.h"
#include "frontend/core/ranges.h"
#include "frontend/cudart/glue.h"

using namespace gvirtus;
using namespace gvirtus::cuda;

GV_EXPORT CUresult cuIpcOpenMemHandle_v2(CUdeviceptr* pdptr, CUipcMemHandle handle,
                                         unsigned int flags) {
  return guarded("cuIpcOpenMemHandle_v2", [&]() -> CUresult {
    if (!pdptr) return CUDA_ERROR_INVALID_VALUE;
    client::Call c(id(Call::kCall_cuIpcOpenMemHandle_v2));
    c.args().put<CUipcMemHandle>(handle);
    c.args().put<uint32_t>(flags);
    if (!c.invoke()) return lost();
    CUresult e = finish(c);
    if (e != CUDA_SUCCESS) return e;
    const uint64_t p = c.result().get<uint64_t>();
    const uint64_t size = c.result().get<uint64_t>();
    c.result().expect_end();
    client::ipc_opened(static_cast<uintptr_t>(p), static_cast<size_t>(size));
    *pdptr = p;
    return CUDA_SUCCESS;
  });
}
