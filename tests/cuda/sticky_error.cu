// A kernel that faults leaves the context unusable: every later call reports the sticky error,
// as natively. Runs last in its own process.
#include "check.h"

__global__ void fault(int* p) { *p = 1; }

int main() {
  int* d;
  CHECK(cudaMalloc(&d, 16));
  fault<<<1, 1>>>(reinterpret_cast<int*>(16));  // an address nobody mapped
  REPORT(cudaDeviceSynchronize());
  REPORT(cudaGetLastError());
  REPORT(cudaGetLastError());
  int h = 0;
  REPORT(cudaMemcpy(&h, d, sizeof(h), cudaMemcpyDeviceToHost));
  void* q = nullptr;
  REPORT(cudaMalloc(&q, 16));
  REPORT(cudaDeviceReset());  // a reset gives a working context again
  REPORT(cudaMalloc(&q, 16));
  REPORT(cudaMemset(q, 1, 16));
  REPORT(cudaMemcpy(&h, q, sizeof(h), cudaMemcpyDeviceToHost));
  std::printf("after reset %x\n", h);
  REPORT(cudaFree(q));
  return 0;
}
