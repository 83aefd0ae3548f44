#include "backend/device_memory.h"

#include <cuda_runtime_api.h>

namespace gvirtus::backend {

bool device_memory(const void* p) {
  const cudaError_t before = cudaPeekAtLastError();
  cudaPointerAttributes a{};
  const cudaError_t e = cudaPointerGetAttributes(&a, p);
  if (e != cudaSuccess && before == cudaSuccess) cudaGetLastError();  // not the client's error
  return e == cudaSuccess && (a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged);
}

}  // namespace gvirtus::backend
