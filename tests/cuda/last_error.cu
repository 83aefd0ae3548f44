// Runs anywhere: the thread's last-error state after failing and succeeding calls
// (cudaGetLastError resets it, cudaPeekAtLastError does not).
#include "check.h"

int main() {
  REPORT(cudaGetLastError());
  REPORT(cudaRuntimeGetVersion(nullptr));  // fails locally: invalid value
  REPORT(cudaPeekAtLastError());
  REPORT(cudaPeekAtLastError());
  REPORT(cudaGetLastError());
  REPORT(cudaGetLastError());

  int count = 0;
  cudaError_t e = REPORT(cudaGetDeviceCount(&count));
  REPORT(cudaPeekAtLastError());
  REPORT(cudaGetLastError());
  REPORT(cudaGetLastError());

  int dev = -1;
  REPORT(cudaSetDevice(-1));
  REPORT(cudaGetLastError());
  REPORT(cudaGetDevice(&dev));
  REPORT(cudaGetLastError());
  if (e == cudaSuccess) {
    REPORT(cudaSetDevice(count));  // one past the last device
    REPORT(cudaGetLastError());
    REPORT(cudaSetDevice(0));
    REPORT(cudaGetLastError());
    std::printf("device %d\n", (cudaGetDevice(&dev), dev));
  }
  return 0;
}
