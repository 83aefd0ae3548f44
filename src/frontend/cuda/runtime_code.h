// Driver calls that libcuda.so.1 answers with the runtime's requests (a CUstream, CUgraph,
// CUgraphNode, CUgraphExec is the worker's cudaStream_t & co., one handle table): the
// runtime's result as the driver's.
#pragma once
#include <cuda.h>
#include <cuda_runtime_api.h>

namespace gvirtus::cuda {

// The runtime's codes have the driver's numbers for what these calls answer (invalid value 1,
// out of memory 2, invalid handle 400, not supported 801, the capture errors 900-908, a lost
// session 46); a worker without a driver makes the runtime answer "insufficient driver" (35),
// where the driver API answers CUDA_ERROR_NO_DEVICE.
inline CUresult from_runtime_code(cudaError_t e) {
  return e == cudaErrorInsufficientDriver ? CUDA_ERROR_NO_DEVICE : static_cast<CUresult>(e);
}

}  // namespace gvirtus::cuda
