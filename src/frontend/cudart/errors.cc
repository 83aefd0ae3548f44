// Error names and strings, the last-error state and the runtime version.
#include <cuda_runtime_api.h>

#include "frontend/cudart/error_table.h"
#include "frontend/cudart/local.h"

using namespace gvirtus::cudart;

GV_EXPORT const char* cudaGetErrorName(cudaError_t error) { return error_name(error); }

GV_EXPORT const char* cudaGetErrorString(cudaError_t error) { return error_string(error); }

GV_EXPORT cudaError_t cudaGetLastError(void) {
  return guarded("cudaGetLastError", [] { return last_error(true); });
}

GV_EXPORT cudaError_t cudaPeekAtLastError(void) {
  return guarded("cudaPeekAtLastError", [] { return last_error(false); });
}

GV_EXPORT cudaError_t cudaRuntimeGetVersion(int* runtimeVersion) {
  if (!runtimeVersion) return fail(cudaErrorInvalidValue);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}

// A pure function of its arguments: no device involved.
GV_EXPORT struct cudaChannelFormatDesc cudaCreateChannelDesc(int x, int y, int z, int w,
                                                             enum cudaChannelFormatKind f) {
  struct cudaChannelFormatDesc d;
  d.x = x;
  d.y = y;
  d.z = z;
  d.w = w;
  d.f = f;
  return d;
}
