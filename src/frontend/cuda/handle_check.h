// Arguments the client can tell are no handle of the expected kind, answered here as the driver
// answers them instead of being sent as forged ids (which end the session on the worker).
#pragma once
#include <cuda.h>

#include <optional>

namespace gvirtus::cuda {

// A CUkernel whose kind byte names no kernel (NVIDIA's static runtime passes a host function's
// address to find out whether it is a CUkernel; the driver answers CUDA_ERROR_INVALID_HANDLE):
// that error. NULL and ids of a kernel kind go to the worker, which judges them.
std::optional<CUresult> local_kernel_handle(CUkernel kernel);

}  // namespace gvirtus::cuda
