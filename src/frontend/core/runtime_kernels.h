// cudaKernel_t handles (cudaGetKernel) given to the driver API. Natively a cudaKernel_t is a
// CUkernel, so cuKernelGetFunction, cuKernelGetAttribute, cuFuncGetAttribute & co. take one.
// libcudart.so.13 hands out its own kernel records as cudaKernel_t (frontend/cudart/modules.h);
// it registers here how to turn one into the worker's kernel id (HandleKind::kKernel, which the
// worker's driver plugin accepts as a CUkernel), and libcuda.so.1 asks before it answers an
// unknown handle with CUDA_ERROR_INVALID_HANDLE (frontend/cuda/handle_check.h).
#pragma once
#include <cstdint>

#include "frontend/core/client.h"

namespace gvirtus::client {

// -1: p is no kernel record of the runtime; 0: *id is its worker id; otherwise the runtime's
// error resolving it (its module could not be loaded, ...).
using RuntimeKernelResolver = int32_t (*)(const void* p, uint64_t* id);

// Installs the runtime's resolver (nullptr removes it).
GV_API void set_runtime_kernel_resolver(RuntimeKernelResolver r);
// The resolver's answer for p, or -1 without one.
GV_API int32_t runtime_kernel_id(const void* p, uint64_t* id);

}  // namespace gvirtus::client
