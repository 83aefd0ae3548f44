// For tests/deploy/check_deploy.py: one call the backend must answer. Prints "driver N" and exits
// 0 when cudaDriverGetVersion succeeds (it does on a backend without a GPU too), else prints the
// error and exits 1 (a backend that refused the session: cudaErrorDevicesUnavailable).
#include <cuda_runtime.h>

#include <cstdio>

int main() {
  int v = -1;
  cudaError_t e = cudaDriverGetVersion(&v);
  if (e != cudaSuccess) {
    std::printf("error %s\n", cudaGetErrorName(e));
    return 1;
  }
  std::printf("driver %d\n", v);
  return 0;
}
