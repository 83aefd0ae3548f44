// A client for tests/gpu/callback_fault.py: a host callback that never returns while the main
// thread waits for its stream. Prints "ready" from inside the callback, or "nogpu".
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <thread>

static void CUDART_CB block_forever(void*) {
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

static void CUDART_CB never(void*) { std::printf("the second callback ran\n"); }

int main() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::printf("nogpu\n");
    return 0;
  }
  cudaStream_t s;
  if (cudaStreamCreate(&s) != cudaSuccess) return 1;
  if (cudaLaunchHostFunc(s, block_forever, nullptr) != cudaSuccess) return 1;
  if (cudaLaunchHostFunc(s, never, nullptr) != cudaSuccess) return 1;
  cudaStreamSynchronize(s);  // never returns: the first callback blocks
  return 2;
}
