// The driver's forms of asynchronous copies with page-locked memory (docs/async-copies.md):
// cuMemAllocHost / cuMemHostAlloc / cuMemHostRegister memory, cuMemcpyDtoHAsync and
// cuMemcpyHtoDAsync, each synchronised by a driver call (cuStreamSynchronize, cuEventSynchronize,
// cuCtxSynchronize, cuStreamQuery until done); the runtime fills device memory and owns the
// context (its primary one). Prints results only.
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstring>
#include <vector>

#include "driver/check_drv.h"

#define RCHECK(call)                                                                   \
  do {                                                                                 \
    cudaError_t e_ = (call);                                                           \
    if (e_ != cudaSuccess) {                                                           \
      std::printf("FAILED line %d: %s: %s\n", __LINE__, #call, cudaGetErrorName(e_)); \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

__global__ void fill(unsigned* v, size_t n, unsigned k) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    v[i] = static_cast<unsigned>(i) * 2246822519u + k;
}

static bool holds(const unsigned* h, size_t n, unsigned k) {
  for (size_t i = 0; i < n; ++i)
    if (h[i] != static_cast<unsigned>(i) * 2246822519u + k) return false;
  return true;
}

int main() {
  const size_t n = 3u << 20;  // 12 MiB of unsigned: more than one transfer chunk
  const size_t bytes = n * sizeof(unsigned);
  RCHECK(cudaSetDevice(0));
  RCHECK(cudaFree(nullptr));  // the primary context, current on this thread
  unsigned* dev = nullptr;
  RCHECK(cudaMalloc(&dev, bytes));
  unsigned* dev2 = nullptr;
  RCHECK(cudaMalloc(&dev2, bytes));
  CUstream s;
  DCHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CUevent ev;
  DCHECK(cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING));

  const char* allocs[] = {"cuMemAllocHost", "cuMemHostAlloc", "cuMemHostRegister"};
  const char* syncs[] = {"cuStreamSynchronize", "cuEventSynchronize", "cuCtxSynchronize",
                         "cuStreamQuery until done"};
  std::vector<unsigned> own(n);
  for (int a = 0; a < 3; ++a) {
    unsigned* host = nullptr;
    if (a == 0) DCHECK(cuMemAllocHost(reinterpret_cast<void**>(&host), bytes));
    if (a == 1) DCHECK(cuMemHostAlloc(reinterpret_cast<void**>(&host), bytes, 0));
    if (a == 2) {
      host = own.data();
      DCHECK(cuMemHostRegister(host, bytes, 0));
    }
    for (int k = 0; k < 4; ++k) {
      std::memset(host, 0, bytes);
      const unsigned tag = static_cast<unsigned>(a * 10 + k + 1);
      fill<<<128, 256, 0, reinterpret_cast<cudaStream_t>(s)>>>(dev, n, tag);
      RCHECK(cudaGetLastError());
      DCHECK(cuMemcpyDtoHAsync(host, reinterpret_cast<CUdeviceptr>(dev), bytes, s));
      if (k == 0) DCHECK(cuStreamSynchronize(s));
      if (k == 1) {
        DCHECK(cuEventRecord(ev, s));
        DCHECK(cuEventSynchronize(ev));
      }
      if (k == 2) DCHECK(cuCtxSynchronize());
      if (k == 3) {
        CUresult q;
        while ((q = cuStreamQuery(s)) == CUDA_ERROR_NOT_READY) {
        }
        DCHECK(q);
      }
      std::printf("%s, cuMemcpyDtoHAsync, %s: %s\n", allocs[a], syncs[k],
                  holds(host, n, tag) ? "ok" : "WRONG");
    }
    // Up again from the delivered buffer, on the same stream, and back: what was delivered.
    std::vector<unsigned> check(n, 0);
    DCHECK(cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(dev2), host, bytes, s));
    DCHECK(cuStreamSynchronize(s));
    RCHECK(cudaMemcpy(check.data(), dev2, bytes, cudaMemcpyDeviceToHost));
    std::printf("%s, cuMemcpyHtoDAsync of the delivered bytes: %s\n", allocs[a],
                holds(check.data(), n, static_cast<unsigned>(a * 10 + 4)) ? "ok" : "WRONG");
    if (a < 2) DCHECK(cuMemFreeHost(host));
    if (a == 2) DCHECK(cuMemHostUnregister(host));
  }

  DCHECK(cuEventDestroy(ev));
  DCHECK(cuStreamDestroy(s));
  RCHECK(cudaFree(dev));
  RCHECK(cudaFree(dev2));
  return 0;
}
