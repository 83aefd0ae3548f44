// The driver's page-locked and mapped host memory (cuMemAllocHost, cuMemHostAlloc,
// cuMemHostRegister, cuMemHostGetDevicePointer, cuMemHostGetFlags, ...). Done by libcudart.so.13's
// implementation (frontend/core/host_memory_ops.h: one table for both APIs, mapped memory by
// the runtime's mirrored allocations and aliases); this library loads ours from its own folder
// if the program has not. Without it (no GVirtuS libcudart.so.13 next to this library) blocks
// are ordinary page-aligned memory kept here and mapped memory is refused
// (CUDA_ERROR_NOT_SUPPORTED).
#pragma once
#include <cuda.h>

#include <cstdint>

#include "frontend/core/host_memory_ops.h"

namespace gvirtus::cuda {

// Whether p lies in page-locked host memory (allocated or registered, through either API).
bool is_page_locked_host(const void* p);

// The runtime's implementation of host and managed memory (loading GVirtuS's libcudart.so.13
// from this library's folder once if the program has not), or nullptr without it.
const client::HostMemoryOps* runtime_ops();
// A result of the runtime's table as the driver's CUresult.
CUresult from_runtime(int32_t e);

}  // namespace gvirtus::cuda
