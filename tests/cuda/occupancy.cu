// Kernel attributes and occupancy, named by host stub: cudaFuncSetAttribute (more dynamic
// shared memory than the default 48 KiB), cudaFuncSetCacheConfig, the cudaOccupancy* queries,
// and cudaOccupancyMaxPotentialBlockSize (a template in cuda_runtime.h built on them).
#include <vector>

#include "check.h"

__global__ void reverse_big(const int* in, int* out, int n) {
  extern __shared__ int buf[];
  for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = in[i];
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = buf[n - 1 - i];
}

__global__ void saxpy(float a, const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

int main() {
  const int n = 25 * 1024;  // 100 KiB of ints: over the default dynamic shared memory limit
  const size_t smem = n * sizeof(int);
  std::vector<int> h(n), back(n, 0);
  for (int i = 0; i < n; ++i) h[i] = i * 3 + 1;
  int *in, *out;
  CHECK(cudaMalloc(&in, smem));
  CHECK(cudaMalloc(&out, smem));
  CHECK(cudaMemcpy(in, h.data(), smem, cudaMemcpyHostToDevice));

  reverse_big<<<1, 256, smem>>>(in, out, n);
  REPORT(cudaGetLastError());  // too much shared memory before the attribute is raised
  REPORT(cudaFuncSetAttribute(reverse_big, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              static_cast<int>(smem)));
  reverse_big<<<1, 256, smem>>>(in, out, n);
  REPORT(cudaGetLastError());
  CHECK(cudaMemcpy(back.data(), out, smem, cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok = ok && back[i] == h[n - 1 - i];
  std::printf("reverse with 100 KiB of shared memory: %s\n", ok ? "ok" : "WRONG");

  cudaFuncAttributes attr;
  CHECK(cudaFuncGetAttributes(&attr, reverse_big));
  std::printf("maxDynamicSharedSizeBytes %d\n", attr.maxDynamicSharedSizeBytes);
  REPORT(cudaFuncSetCacheConfig(saxpy, cudaFuncCachePreferL1));

  int blocks = -1;
  REPORT(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, saxpy, 256, 0));
  std::printf("saxpy blocks per SM at 256 threads: %d\n", blocks);
  REPORT(cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, reverse_big, 256, smem,
                                                                cudaOccupancyDefault));
  std::printf("reverse_big blocks per SM with 100 KiB: %d\n", blocks);
  size_t avail = 0;
  REPORT(cudaOccupancyAvailableDynamicSMemPerBlock(&avail, reverse_big, 1, 256));
  std::printf("available dynamic shared memory for one block: %zu\n", avail);
  int min_grid = 0, block = 0;
  REPORT(cudaOccupancyMaxPotentialBlockSize(&min_grid, &block, saxpy, 0, 0));
  std::printf("potential block size %d, min grid %d\n", block, min_grid);

  // Not a kernel: the runtime's answer, not a crash.
  REPORT(cudaFuncSetAttribute(reinterpret_cast<const void*>(&main),
                              cudaFuncAttributeMaxDynamicSharedMemorySize, 1024));
  REPORT(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, reinterpret_cast<const void*>(&h),
                                                       256, 0));
  REPORT(cudaFuncGetAttributes(&attr, reinterpret_cast<const void*>(&main)));
  void* no_args[] = {nullptr};
  REPORT(cudaLaunchKernel(reinterpret_cast<const void*>(&main), dim3(1), dim3(1), no_args, 0,
                          nullptr));
  REPORT(cudaGetLastError());
  CHECK(cudaFree(in));
  CHECK(cudaFree(out));
  return 0;
}
