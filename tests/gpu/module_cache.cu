// A program built for several architectures (tests/gpu.cmake: sm_80 and sm_90 cubins, compute_75
// PTX), for tests/gpu/module_cache.py: prints what its kernel computed.
#include <cuda_runtime.h>

#include <cstdio>

__global__ void square_plus(const int* in, int* out, int n, int k) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * in[i] + k;
}

int main() {
  const int n = 1000;
  int host[n], result[n];
  for (int i = 0; i < n; ++i) host[i] = i - 500;
  int *in = nullptr, *out = nullptr;
  if (cudaMalloc(&in, sizeof host) != cudaSuccess || cudaMalloc(&out, sizeof host) != cudaSuccess) {
    std::printf("cudaMalloc failed\n");
    return 1;
  }
  cudaMemcpy(in, host, sizeof host, cudaMemcpyHostToDevice);
  square_plus<<<(n + 255) / 256, 256>>>(in, out, n, 7);
  cudaError_t e = cudaMemcpy(result, out, sizeof result, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) {
    std::printf("kernel: %s\n", cudaGetErrorString(e));
    return 1;
  }
  long long sum = 0;
  for (int i = 0; i < n; ++i) sum += result[i];
  std::printf("sum %lld first %d last %d\n", sum, result[0], result[n - 1]);
  cudaFree(in);
  cudaFree(out);
  return 0;
}
