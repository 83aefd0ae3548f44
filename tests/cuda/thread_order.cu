// Work one thread queued without waiting is seen by another thread that starts afterwards:
// the main thread launches many slow kernels (<<<>>> returns at once), then a new thread copies
// the counter they bump. The legacy default stream orders the copy after every launch made
// before it, so natively the copy sees them all. Through GVirtuS the new thread has a
// connection of its own; its first call must not overtake launches still in flight on the main
// thread's connection.
#include <thread>

#include "check.h"

__global__ void bump(int* counter, long long spin) {
  long long t0 = clock64();
  while (clock64() - t0 < spin) {
  }
  atomicAdd(counter, 1);
}

int main() {
  const int n = 2000;
  int* counter = nullptr;
  CHECK(cudaMalloc(&counter, sizeof(int)));
  CHECK(cudaMemset(counter, 0, sizeof(int)));
  CHECK(cudaDeviceSynchronize());
  for (int i = 0; i < n; ++i) bump<<<1, 1>>>(counter, 20000);
  int seen = -1;
  std::thread reader([&] {
    CHECK(cudaMemcpy(&seen, counter, sizeof(int), cudaMemcpyDeviceToHost));
  });
  reader.join();
  std::printf("the new thread saw %d of %d launches\n", seen, n);
  // And the other way round: a launch made by a thread that then ends is seen by the main
  // thread's next copy.
  std::thread launcher([&] { bump<<<1, 1>>>(counter, 20000); });
  launcher.join();
  CHECK(cudaMemcpy(&seen, counter, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("after the launcher thread: %d\n", seen);
  CHECK(cudaGetLastError());
  CHECK(cudaFree(counter));
  return verdict(seen == n + 1);
}
