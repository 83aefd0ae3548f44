// Bad launch configurations and bad arguments: the error each one reports, through
// cudaGetLastError / cudaPeekAtLastError or the call's own result, and that work goes on after.
#include "check.h"

__global__ void write_one(int* out) { out[threadIdx.x] = threadIdx.x + 1; }

int main() {
  int* d;
  CHECK(cudaMalloc(&d, 4096 * sizeof(int)));

  write_one<<<1, 0>>>(d);
  REPORT(cudaGetLastError());
  REPORT(cudaGetLastError());

  write_one<<<1, 2048>>>(d);
  REPORT(cudaPeekAtLastError());
  REPORT(cudaPeekAtLastError());
  REPORT(cudaGetLastError());
  REPORT(cudaGetLastError());

  write_one<<<0, 1>>>(d);
  REPORT(cudaGetLastError());
  write_one<<<dim3(1, 1, 1 << 17), 1>>>(d);
  REPORT(cudaGetLastError());
  write_one<<<1, dim3(1, 1, 1024)>>>(d);
  REPORT(cudaGetLastError());
  write_one<<<1, 1, 1 << 20>>>(d);  // far more dynamic shared memory than any GPU has
  REPORT(cudaGetLastError());

  // A good launch after all that still works.
  write_one<<<1, 64>>>(d);
  REPORT(cudaGetLastError());
  int h[64];
  CHECK(cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost));
  int s = 0;
  for (int v : h) s += v;
  std::printf("sum %d\n", s);

  void* args[] = {&d};
  REPORT(cudaLaunchKernel(reinterpret_cast<const void*>(&write_one), dim3(1), dim3(0), args, 0, nullptr));
  REPORT(cudaGetLastError());
  REPORT(cudaLaunchKernel(reinterpret_cast<const void*>(&write_one), dim3(1), dim3(4096), args, 0, nullptr));
  REPORT(cudaGetLastError());

  REPORT(cudaSetDevice(-1));
  REPORT(cudaGetLastError());
  cudaDeviceProp p;
  REPORT(cudaGetDeviceProperties(&p, 1000));
  cudaStream_t st;
  REPORT(cudaStreamCreateWithFlags(&st, 0x100));
  cudaEvent_t ev;
  REPORT(cudaEventCreateWithFlags(&ev, 0x1000));
  REPORT(cudaMemcpy(h, d, sizeof(h), static_cast<cudaMemcpyKind>(42)));
  REPORT(cudaMemset(d, 0, 1ull << 40));
  void* huge = nullptr;
  REPORT(cudaMalloc(&huge, 1ull << 50));
  REPORT(cudaGetLastError());
  REPORT(cudaGetLastError());
  REPORT(cudaFree(nullptr));
  REPORT(cudaDeviceSynchronize());
  REPORT(cudaFree(d));
  return 0;
}
