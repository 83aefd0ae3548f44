// cudaLaunchKernelEx (the C++ template over cudaLaunchKernelExC) with launch attributes:
// a thread-block cluster dimension and a priority, and a plain launch without attributes.
#include <vector>

#include "check.h"

__global__ void fill(int* out, int base, double scale) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = base + static_cast<int>(i * scale);
}

int main() {
  const int blocks = 8, threads = 64, n = blocks * threads;
  int* d;
  CHECK(cudaMalloc(&d, n * sizeof(int)));
  std::vector<int> h(n);

  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(blocks);
  cfg.blockDim = dim3(threads);
  REPORT(cudaLaunchKernelEx(&cfg, fill, d, 100, 2.0));
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("plain: %d %d %d\n", h[0], h[1], h[n - 1]);

  int major = 0;
  CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0));
  cudaLaunchAttribute attrs[2] = {};
  attrs[0].id = cudaLaunchAttributePriority;
  attrs[0].val.priority = 0;
  attrs[1].id = cudaLaunchAttributeClusterDimension;
  attrs[1].val.clusterDim.x = major >= 9 ? 2 : 1;  // clusters need compute capability 9.0
  attrs[1].val.clusterDim.y = 1;
  attrs[1].val.clusterDim.z = 1;
  cfg.attrs = attrs;
  cfg.numAttrs = 2;
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cfg.stream = s;
  REPORT(cudaLaunchKernelEx(&cfg, fill, d, -7, 0.5));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("with attributes: %d %d %d\n", h[0], h[3], h[n - 1]);

  // A cluster that does not divide the grid is refused by the runtime.
  attrs[1].val.clusterDim.x = 3;
  REPORT(cudaLaunchKernelEx(&cfg, fill, d, 0, 1.0));
  REPORT(cudaGetLastError());
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(d));
  return 0;
}
