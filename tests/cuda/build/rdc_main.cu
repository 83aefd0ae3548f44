// Separate compilation (-rdc=true): device code calls a function and reads a variable defined in
// another translation unit (rdc_lib.cu), and a kernel there launches child kernels from the GPU
// (dynamic parallelism, -lcudadevrt). nvcc registers the device-linked image through
// __cudaRegisterLinkedBinary_* callbacks that share one fatbinary handle.
#include <cstdio>
#include <vector>

#include "../check.h"

extern __device__ int scale;                 // defined in rdc_lib.cu
__device__ int twice_plus_scale(int x);      // defined in rdc_lib.cu
__global__ void fill_parent(int* out, int n);  // rdc_lib.cu: launches children

__global__ void apply(int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = twice_plus_scale(i);
}

int main() {
  const int n = 1000;
  int* d = nullptr;
  CHECK(cudaMalloc(&d, n * sizeof(int)));

  int s = 7;
  CHECK(cudaMemcpyToSymbol(scale, &s, sizeof s));
  apply<<<(n + 127) / 128, 128>>>(d, n);
  CHECK(cudaGetLastError());
  std::vector<int> h(n);
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int i = 0; i < n; ++i) ok = ok && h[i] == 2 * i + 7;
  std::printf("cross-unit device function: %d %d %d\n", h[0], h[1], h[n - 1]);

  size_t size = 0;
  CHECK(cudaGetSymbolSize(&size, scale));
  std::printf("extern __device__ variable size: %zu\n", size);

  // Dynamic parallelism: one parent thread per 100 elements launches a child grid.
  CHECK(cudaMemset(d, 0, n * sizeof(int)));
  fill_parent<<<1, n / 100>>>(d, n);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost));
  long sum = 0;
  bool dp_ok = true;
  for (int i = 0; i < n; ++i) {
    sum += h[i];
    dp_ok = dp_ok && h[i] == 3 * i + 1;
  }
  std::printf("device-launched children: sum %ld, h[999] %d\n", sum, h[n - 1]);

  CHECK(cudaFree(d));
  return verdict(ok && dp_ok && size == sizeof(int));
}
