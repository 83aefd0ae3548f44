// Device printf: its output reaches the application's stdout by the time the program
// synchronises, in order with what the host printed, as natively.
#include "check.h"

__global__ void say(int step, double x, const char* word) {
  printf("device step %d: x=%.3f word=%s big=%lld\n", step, x, word, 1LL << 40);
}

__global__ void count(int n) {
  for (int i = 0; i < n; ++i) printf("count %d\n", i);
}

int main() {
  std::printf("host: before any kernel\n");
  char* word;
  CHECK(cudaMalloc(&word, 8));
  CHECK(cudaMemcpy(word, "gvirtus", 8, cudaMemcpyHostToDevice));
  say<<<1, 1>>>(1, 0.5, word);
  say<<<1, 1>>>(2, 1.25, word);
  CHECK(cudaDeviceSynchronize());
  std::printf("host: after the first synchronisation\n");
  count<<<1, 1>>>(20);
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  say<<<1, 1, 0, s>>>(3, -2.0, word);
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaDeviceSynchronize());
  std::printf("host: done\n");
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(word));
  return 0;
}
