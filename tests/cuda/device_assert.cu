// A failed assert() in a kernel: the message goes to the application's stderr, the launch fails
// with cudaErrorAssert at the next synchronisation, and the error is sticky, as natively.
// The build type may define NDEBUG; this program is about assert() itself.
#undef NDEBUG
#include <cassert>
#include <cstdio>

#include "check.h"

__global__ void check_positive(const int* v, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) assert(v[i] > 0);
}

int main() {
  int* d = nullptr;
  CHECK(cudaMalloc(&d, 64 * sizeof(int)));
  int h[64];
  for (int i = 0; i < 64; ++i) h[i] = i + 1;
  CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
  check_positive<<<1, 64>>>(d, 64);
  REPORT(cudaDeviceSynchronize());  // all positive: no assert fires
  std::printf("first pass done\n");
  std::fflush(stdout);
  h[17] = -5;
  CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
  check_positive<<<1, 64>>>(d, 64);
  REPORT(cudaDeviceSynchronize());
  REPORT(cudaGetLastError());
  REPORT(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));  // sticky
  return 0;
}
