// Wire encoding shared by the graph calls (graphs.cc) and tested without them.
#pragma once
#include <cuda_runtime_api.h>

#include "common/wire.h"

namespace gvirtus::cudart {

// Kernel node parameters: u64 kernel id, dim3 grid, dim3 block, u32 shared memory, u32 n, then
// n bytes packed at the kernel's parameter offsets (as a launch does). Resolves the kernel
// (uploading its module if needed). `extra` is refused (cudaErrorNotSupported). Sets the last
// error on failure.
cudaError_t put_kernel_node(wire::Writer& w, const cudaKernelNodeParams* p);

}  // namespace gvirtus::cudart
