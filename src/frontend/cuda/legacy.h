// Legacy driver exports that cuda.h declares only for the driver's own build
// (__CUDA_API_VERSION_INTERNAL): defined in legacy.cc, referenced by the generated client code.
#pragma once
#include <cuda.h>

extern "C" {
CUresult cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev);
CUresult cuCtxCreate_v3(CUcontext* pctx, CUexecAffinityParam* paramsArray, int numParams,
                        unsigned int flags, CUdevice dev);
}
