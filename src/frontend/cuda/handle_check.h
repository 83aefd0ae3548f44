// Arguments the client can tell are no handle of the expected kind, answered here as the driver
// answers them instead of being sent as forged ids (which end the session on the worker).
#pragma once
#include <cuda.h>

#include <optional>

namespace gvirtus::cuda {

// A CUkernel whose kind byte names no kernel (NVIDIA's static runtime passes a host function's
// address to find out whether it is a CUkernel; the driver answers CUDA_ERROR_INVALID_HANDLE):
// that error. NULL and ids of a kernel kind go to the worker, which judges them. A cudaKernel_t
// of GVirtuS's libcudart.so.13 (cudaGetKernel: natively a CUkernel) is replaced in place by the
// worker's id for it (frontend/core/runtime_kernels.h); if it cannot be resolved, the runtime's
// error.
std::optional<CUresult> local_kernel_handle(CUkernel& kernel);

// The same for a CUfunction, which may also be a CUkernel cast to it (the driver takes either):
// the static runtime passes a host address it does not know (&main, a stack variable) to
// cuFuncGetAttribute, cuFuncSetAttribute, cuOccupancy* and the like, and the driver answers
// CUDA_ERROR_INVALID_HANDLE. Only an id of a function or kernel kind is sent (a cudaKernel_t
// replaced by its id, as above); an id of such a kind the session was never given still ends
// the session on the worker.
std::optional<CUresult> local_function_handle(CUfunction& function);

}  // namespace gvirtus::cuda
